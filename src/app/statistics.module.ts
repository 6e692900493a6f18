import { analyzeGrownTables, analyzeIntervalMs } from '../db/statistics';
import type { AppDeps, AppModule } from './module';

/**
 * Keeps the embedded PGlite database's planner statistics fresh, as autovacuum does on PostgreSQL
 * (src/db/statistics.ts): a pass at start, then one every analyzeIntervalMs. Only for PGlite running in
 * this process; on PostgreSQL the server's autovacuum does it. A failed pass is logged and the next
 * one tries again; `stop` waits for a pass in flight.
 */
export function createStatisticsModule(deps: AppDeps, intervalMs = analyzeIntervalMs): AppModule {
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> = Promise.resolve();
  const analyze = () => {
    pass = analyzeGrownTables(deps.ctx.db.orm).then(
      (tables) => {
        if (tables.length > 0) deps.logger.debug({ tables }, 'analysed tables that grew');
      },
      (error: unknown) => deps.logger.warn({ err: error }, 'analysing tables failed; the next pass tries again'),
    );
    return pass;
  };
  return {
    name: 'statistics',
    async start() {
      await analyze();
      timer = setInterval(() => void pass.then(analyze), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await pass;
    },
  };
}
