import type { Command } from 'commander';
import { operatorActor } from '../../lib/context';
import { createApiKey, listApiKeys, revokeApiKey } from '../../usage/api-keys.usecases';
import { requireOrganisation, withCliContext } from '../cli-context';
import { formatTable } from '../cli-format';
import { failed } from './usage-failures';

// `allot apikey …`: the keys of POST /v1/usage.

/** Registers `allot apikey` and its commands, in the order `allot apikey --help` lists them. */
export function registerApikeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('API keys for POST /v1/usage');
  registerApikeyCreate(apikey);
  registerApikeyList(apikey);
  registerApikeyRevoke(apikey);
}

/** `allot apikey create`: create a key; it is printed once and stored only as a hash. */
function registerApikeyCreate(apikey: Command): void {
  apikey
    .command('create <org> <name>')
    .description('create a key; it is printed once and stored only as a hash')
    .action(async (slug: string, name: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const created = await createApiKey(ctx, { orgId: organisation.id, actor: operatorActor, name });
        if (!created.ok) failed(created.failure);
        console.log(created.value.key);
        console.error(
          `API key "${created.value.apiKey.name}" created for ${organisation.slug}. Copy it now: it is not shown again.\n` +
            'Send usage with: curl -H "Authorization: Bearer <key>" -H "Content-Type: application/json" ' +
            '-d \'{"events":[…]}\' https://<allot-host>/v1/usage',
        );
      });
    });
}

/** `allot apikey list`: list keys by name and visible prefix (never the key). */
function registerApikeyList(apikey: Command): void {
  apikey
    .command('list <org>')
    .description('list keys by name and visible prefix (never the key)')
    .action(async (slug: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const listed = await listApiKeys(ctx, { orgId: organisation.id, actor: operatorActor });
        if (!listed.ok) failed(listed.failure);
        if (listed.value.length === 0) {
          console.log(`No API keys. Create one with: allot apikey create ${organisation.slug} <name>`);
          return;
        }
        console.log(
          formatTable(
            ['name', 'prefix', 'created', 'revoked'],
            listed.value.map((key) => [
              key.name,
              `${key.keyPrefix}…`,
              key.createdAt.toISOString().slice(0, 16).replace('T', ' '),
              key.revokedAt ? key.revokedAt.toISOString().slice(0, 16).replace('T', ' ') : '',
            ]),
          ),
        );
      });
    });
}

/** `allot apikey revoke`: revoke a live key; requests with it get 401 from then on. */
function registerApikeyRevoke(apikey: Command): void {
  apikey
    .command('revoke <org> <name>')
    .description('revoke a live key; requests with it get 401 from then on')
    .action(async (slug: string, name: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const revoked = await revokeApiKey(ctx, { orgId: organisation.id, actor: operatorActor, name });
        if (!revoked.ok) failed(revoked.failure);
        console.log(`API key "${revoked.value.name}" (${revoked.value.keyPrefix}…) revoked.`);
      });
    });
}
