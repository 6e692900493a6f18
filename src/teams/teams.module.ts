import type { AppDeps, AppModule } from '../lib/module';

/** The Teams adapter (botbuilder CloudAdapter on POST /api/messages). */
export function createTeamsModule(_deps: AppDeps): AppModule {
  return { name: 'teams' };
}
