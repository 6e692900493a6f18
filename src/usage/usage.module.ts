import type { AppDeps, AppModule } from '../lib/module';

/** The usage API (POST /v1/usage). */
export function createUsageModule(_deps: AppDeps): AppModule {
  return { name: 'usage' };
}
