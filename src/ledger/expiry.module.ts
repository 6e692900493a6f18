import type { AppDeps, AppModule } from '../app/module';
import { expireDueLots } from './expiry.usecases';

/** How often each replica sweeps lots whose expiry has come (each token expires once, whoever sweeps). */
export const expirySweepIntervalMs = 15_000;

/**
 * The lot expiry sweeper (issue 16): on every replica, every 15 s, what remains of each lot past its
 * expiry moves to the `expired` account (src/ledger/expiry.usecases.ts). People hear of it from the
 * reminders job, which reads the ledger, not from this sweep.
 */
export function createExpiryModule(deps: Pick<AppDeps, 'ctx' | 'logger'>): AppModule {
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = expireDueLots(deps.ctx)
      .then((done) => {
        const tokens = done.reduce((sum, expiry) => sum + expiry.amount, 0n);
        if (tokens > 0n) deps.logger.info({ lots: done.length, tokens: String(tokens) }, 'tokens expired');
      })
      .catch((error: unknown) => deps.logger.error({ err: error }, 'lot expiry sweep failed; the next one retries'));
    return sweeping;
  };
  return {
    name: 'expiry',
    async start() {
      await sweep();
      timer = setInterval(() => void sweep(), expirySweepIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await sweeping;
    },
  };
}
