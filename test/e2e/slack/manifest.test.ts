import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { expect, it } from 'vitest';
import { commandNames } from '../../../src/chat/grammar.models';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const manifest = JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8'));
const schema = JSON.parse(readFileSync(path.join(root, 'schemas/slack-app-manifest.schema.json'), 'utf8'));

it('manifest.json is a valid Slack app manifest (draft-07 schema, checked with ajv)', () => {
  // The schema uses a few keywords of its own (e.g. "regex"); strict mode would refuse to compile it.
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const valid = validate(manifest);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
});

it('the schema check is real: an unknown key like escape_one is rejected', () => {
  const ajv = new Ajv({ strict: false });
  const validate = ajv.compile(schema);
  const broken = structuredClone(manifest);
  broken.features.slash_commands[0].escape_one = true;
  expect(validate(broken)).toBe(false);
});

it('declares the five commands with usage hints and escaping, events and interactivity on /slack/events, and the Home tab', () => {
  const commands = manifest.features.slash_commands as {
    command: string;
    usage_hint: string;
    should_escape: boolean;
    url: string;
  }[];
  expect(commands.map((c) => c.command)).toEqual(commandNames.map((name) => `/${name}`));
  for (const command of commands) {
    expect(command.should_escape).toBe(true);
    expect(command.usage_hint.length).toBeGreaterThan(0);
    expect(new URL(command.url).pathname).toBe('/slack/events');
  }
  expect(new URL(manifest.settings.interactivity.request_url).pathname).toBe('/slack/events');
  expect(manifest.settings.interactivity.is_enabled).toBe(true);
  expect(new URL(manifest.settings.event_subscriptions.request_url).pathname).toBe('/slack/events');
  expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
  // Distribution: Slack sends installers back to /slack/oauth_redirect and tells Allot when it is removed.
  expect(manifest.oauth_config.redirect_urls.map((url: string) => new URL(url).pathname)).toEqual([
    '/slack/oauth_redirect',
  ]);
  expect(manifest.settings.event_subscriptions.bot_events).toEqual(
    expect.arrayContaining(['app_uninstalled', 'tokens_revoked']),
  );
  expect(manifest.settings.org_deploy_enabled).toBe(true);
  expect(manifest.features.app_home.home_tab_enabled).toBe(true);
  expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(
    ['chat:write', 'commands', 'im:write', 'users:read', 'users:read.email'].sort(),
  );
});
