import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/config';
import { createTestClock } from '../../src/lib/clock';
import { type RunningAllot, startAllot } from '../../src/main';
import { createTestDatabase } from './db';

/**
 * Allot started in this process as `npm start` starts it, on a fresh database: a clone of the migrated
 * template with DATABASE_URL, else a new PGlite folder. The clock stays near real time (transfers carry
 * the database's own time, so "this month" must agree). `stop` stops it and removes its database.
 */
export async function startRunningAllot(
  env: Record<string, string> = {},
): Promise<{ running: RunningAllot; baseUrl: string; stop(): Promise<void> }> {
  const settings: Record<string, string> = { PORT: '0', LOG_LEVEL: 'silent', ...env };
  let dataDir: string | undefined;
  const tdb = process.env.DATABASE_URL ? await createTestDatabase() : undefined;
  if (tdb) settings.DATABASE_URL = tdb.url!;
  else {
    dataDir = await mkdtemp(path.join(tmpdir(), 'allot-running-'));
    settings.DATA_DIR = path.join(dataDir, 'data');
  }
  const config = parseConfig(settings);
  if (!config.ok) throw new Error(config.problems.join('; '));
  const running = await startAllot({ config: config.config, clock: createTestClock(new Date()) });
  return {
    running,
    baseUrl: `http://127.0.0.1:${running.port}`,
    async stop() {
      await running.stop();
      await tdb?.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
