import { sweepExpiredRequests } from '../chat/commands.usecases';
import type { AppDeps, AppModule } from '../lib/module';

/** How often pending requests are checked for expiry. */
export const expirySweepIntervalMs = 60_000;

/** Expires top-up requests on a timer, edits their approval messages and tells the requesters. */
export function createApprovalsModule(deps: AppDeps): AppModule {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    running = sweepExpiredRequests(deps).catch((error) => deps.logger.error({ err: error }, 'expiry sweep failed'));
  };
  return {
    name: 'approvals',
    async start() {
      timer = setInterval(sweep, expirySweepIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
