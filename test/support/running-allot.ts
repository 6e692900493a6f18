import { parseConfig } from '../../src/config/config';
import { createTestClock } from '../../src/lib/clock';
import { type RunningAllot, startAllot } from '../../src/main';
import { freshAllotDatabase } from './db';

/**
 * Allot started in this process as `npm start` starts it, on a fresh database: a clone of the migrated
 * template with DATABASE_URL, else a new PGlite folder. The clock stays near real time (transfers carry
 * the database's own time, so "this month" must agree). `stop` stops it and removes its database.
 */
export async function startRunningAllot(
  env: Record<string, string> = {},
): Promise<{ running: RunningAllot; baseUrl: string; stop(): Promise<void> }> {
  const database = await freshAllotDatabase({ poolMax: 10, prefix: 'allot-running-' });
  const config = parseConfig({ PORT: '0', LOG_LEVEL: 'silent', ...env, ...database.env });
  if (!config.ok) throw new Error(config.problems.join('; '));
  const running = await startAllot({ config: config.config, clock: createTestClock(new Date()) });
  return {
    running,
    baseUrl: `http://127.0.0.1:${running.port}`,
    async stop() {
      await running.stop();
      await database.remove();
    },
  };
}
