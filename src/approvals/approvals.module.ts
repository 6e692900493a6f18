import type { AppDeps, AppModule } from '../app/module';

/** How often pending requests are checked for expiry. */
export const expirySweepIntervalMs = 60_000;

/**
 * Expires top-up requests on a timer. `sweep` expires what is due and tells the people concerned
 * (edits the approval messages, tells the requesters); it is given by the composition root, since the
 * words and the messages it edits belong to chat, above this module.
 */
export function createApprovalsModule(deps: Pick<AppDeps, 'logger'>, sweep: () => Promise<unknown>): AppModule {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = sweep().catch((error) => deps.logger.error({ err: error }, 'expiry sweep failed'));
  };
  return {
    name: 'approvals',
    async start() {
      timer = setInterval(tick, expirySweepIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
