import { analyzeGrownTables, analyzeIntervalMs, vacuumAgingTables } from '../db/maintenance';
import type { AppDeps, AppModule } from './module';

/**
 * Does for the embedded PGlite database what autovacuum does on PostgreSQL (src/db/maintenance.ts):
 * freezes tables whose rows grow old in transaction ids, and keeps planner statistics fresh; a pass at
 * start, then one every analyzeIntervalMs. Only for PGlite running in
 * this process; on PostgreSQL the server's autovacuum does it. A failed pass is logged and the next
 * one tries again; `stop` waits for a pass in flight.
 */
export function createMaintenanceModule(deps: AppDeps, intervalMs = analyzeIntervalMs): AppModule {
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> = Promise.resolve();
  const maintain = () => {
    pass = (async () => {
      const frozen = await vacuumAgingTables(deps.ctx.db.orm);
      if (frozen.length > 0)
        deps.logger.info({ tables: frozen }, 'froze old rows (VACUUM FREEZE), as autovacuum would');
      return analyzeGrownTables(deps.ctx.db.orm);
    })().then(
      (tables) => {
        if (tables.length > 0) deps.logger.debug({ tables }, 'analysed tables that grew');
      },
      (error: unknown) =>
        deps.logger.warn({ err: error }, 'maintenance (VACUUM FREEZE, ANALYZE) failed; the next pass tries again'),
    );
    return pass;
  };
  return {
    name: 'maintenance',
    async start() {
      await maintain();
      timer = setInterval(() => void pass.then(maintain), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await pass;
    },
  };
}
