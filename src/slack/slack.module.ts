import type { AppDeps, AppModule } from '../lib/module';

/** The Slack adapter (Bolt), or null when Slack is not configured. */
export function createSlackModule(deps: AppDeps): AppModule | null {
  if (!deps.config.SLACK_BOT_TOKEN) return null;
  return { name: 'slack' };
}
