import { analyzeGrownTables, analyzeIntervalMs, vacuumAgingTables } from '../db/maintenance';
import type { AppDeps, AppModule } from './module';

/**
 * Does for the embedded PGlite database what autovacuum does on PostgreSQL (src/db/maintenance.ts):
 * freezes tables whose rows grow old in transaction ids, and keeps planner statistics fresh. One pass
 * as the server starts (in the background: it does not delay listening), then one `intervalMs` after
 * each pass ends (never two at once). Only for PGlite running in
 * this process; on PostgreSQL the server's autovacuum does it. A failed pass is logged and the next
 * one tries again; `stop` cancels the next pass and waits for one in flight.
 */
export function createMaintenanceModule(deps: AppDeps, intervalMs = analyzeIntervalMs): AppModule {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let pass: Promise<void> = Promise.resolve();
  const maintain = async () => {
    try {
      const frozen = await vacuumAgingTables(deps.ctx.db.orm);
      if (frozen.length > 0)
        deps.logger.info({ tables: frozen }, 'froze old rows (VACUUM FREEZE), as autovacuum would');
      const analysed = await analyzeGrownTables(deps.ctx.db.orm);
      if (analysed.length > 0) deps.logger.debug({ tables: analysed }, 'analysed tables that grew');
    } catch (error) {
      deps.logger.warn({ err: error }, 'maintenance (VACUUM FREEZE, ANALYZE) failed; the next pass tries again');
    }
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass = maintain().then(next);
    }, intervalMs);
    timer.unref();
  };
  return {
    name: 'maintenance',
    async start() {
      // Not awaited: the server listens meanwhile (on a large database a first pass may take a while).
      pass = maintain().then(next);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await pass;
    },
  };
}
