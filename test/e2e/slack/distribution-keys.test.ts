import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKeyRing, parseEncryptionKey } from '../../../src/lib/secret-box';
import { slackInstallations } from '../../../src/slack/slack.tables';
import { runCli } from '../../start/spawn';
import { SlackWorkspace } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import {
  type DistributionHarness,
  expectCommandUnanswered,
  installedWorkspace,
  newEncryptionKey,
  startDistributionHarness,
} from './distribution';

// Rotating ALLOT_ENCRYPTION_KEY: restart with the new key and the old one beside it, run
// `allot keys rotate` (the real CLI, beside the running server), restart with the new key alone.
// Every workspace keeps being answered, with its own token, at each step.

const firstKey = newEncryptionKey();
const secondKey = newEncryptionKey();
const keyId = (key: string) => createKeyRing(parseEncryptionKey(key)!).current.id;

let h: DistributionHarness;
beforeAll(async () => {
  h = await startDistributionHarness({ ALLOT_ENCRYPTION_KEY: firstKey });
});
afterAll(async () => h?.stop());

/** The key ids of the stored installations, by team. */
async function storedKeyIds(): Promise<Record<string, string>> {
  const rows = await h.allot.deps.ctx.db.orm.select().from(slackInstallations);
  return Object.fromEntries(rows.map((row) => [row.teamId ?? row.enterpriseId, row.keyId]));
}

/** The CLI with the database and keys the server uses. */
const allotKeysRotate = () =>
  runCli(['keys', 'rotate'], {
    DATA_DIR: h.dataDir,
    DATABASE_URL: h.databaseUrl,
    ALLOT_ENCRYPTION_KEY: h.env.ALLOT_ENCRYPTION_KEY,
    ALLOT_PREVIOUS_ENCRYPTION_KEYS: h.env.ALLOT_PREVIOUS_ENCRYPTION_KEYS,
  });

it('a key rotation keeps every workspace answered with its own token, and leaves every token under the new key', async () => {
  const workspaces = [await installedWorkspace(h, 'Rotating A'), await installedWorkspace(h, 'Rotating B')];
  const everyoneAnswered = async (step: string) => {
    for (const { ws, token } of workspaces) {
      ws.user('UANA', { name: 'Ana' });
      const { reply } = await ws.command('UANA', '/balance', '');
      expect(textOf(reply), step).toContain('0 tokens');
      expect(ws.callsOf('views.publish').length + ws.callsOf('users.info').length, step).toBeGreaterThan(0);
      expect(h.slack.calls.filter((call) => JSON.stringify(call.params).includes(ws.suffix)).at(-1)!.token).toBe(token);
    }
  };
  await everyoneAnswered('installed under the first key');
  expect(Object.values(await storedKeyIds())).toEqual([keyId(firstKey), keyId(firstKey)]);

  // 1. The new key, with the old one beside it: old rows still open; a new install is sealed with the new key.
  await h.restart({ ALLOT_ENCRYPTION_KEY: secondKey, ALLOT_PREVIOUS_ENCRYPTION_KEYS: firstKey });
  await everyoneAnswered('both keys given');
  workspaces.push(await installedWorkspace(h, 'Rotating C'));
  expect((await storedKeyIds())[workspaces[2]!.ws.teamId]).toBe(keyId(secondKey));

  // 2. allot keys rotate, beside the running server.
  const rotated = await allotKeysRotate();
  expect(rotated.stderr).toBe('');
  expect(rotated.code).toBe(0);
  expect(rotated.stdout.trim()).toBe(
    `Re-encrypted 2 Slack installation(s) with key ${keyId(secondKey)}; 1 already used it.`,
  );
  expect(new Set(Object.values(await storedKeyIds()))).toEqual(new Set([keyId(secondKey)]));
  expect((await allotKeysRotate()).stdout.trim()).toBe(
    `Re-encrypted 0 Slack installation(s) with key ${keyId(secondKey)}; 3 already used it.`,
  );

  // 3. The new key alone.
  const logsBefore = h.logs.length;
  await h.restart({ ALLOT_PREVIOUS_ENCRYPTION_KEYS: '' });
  await everyoneAnswered('the new key alone');
  await h.slack.waitFor(() =>
    h.logs
      .slice(logsBefore)
      .some((line) => line.includes('the encryption keys given open every stored Slack installation')),
  );
  expect(h.logs.slice(logsBefore).join('')).not.toContain('neither ALLOT_ENCRYPTION_KEY nor in');
});

it('without the key that sealed them, installations are not opened: the start says which key is missing, and the CLI refuses to rotate', async () => {
  const sealedBefore = Object.keys(await storedKeyIds());
  const logsBefore = h.logs.length;
  await h.restart({ ALLOT_ENCRYPTION_KEY: firstKey, ALLOT_PREVIOUS_ENCRYPTION_KEYS: '' });
  // The check runs in the background once Allot has started.
  const warning = await h.slack.waitFor(() =>
    h.logs
      .slice(logsBefore)
      .map((line) => JSON.parse(line))
      .find((line) => String(line.msg).includes('neither ALLOT_ENCRYPTION_KEY nor in ALLOT_PREVIOUS_ENCRYPTION_KEYS')),
  );
  expect(warning).toMatchObject({ keyId: keyId(secondKey), installations: 3 });
  // A workspace sealed under the missing key gets no answer (and no call is made for it).
  await expectCommandUnanswered(new SlackWorkspace(h, { teamId: sealedBefore[0] }));

  const { ws } = await installedWorkspace(h, 'Fresh');
  expect(Object.values(await storedKeyIds()).filter((id) => id === keyId(firstKey))).toHaveLength(1);

  const refused = await allotKeysRotate();
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim()).toBe(
    `3 installation(s) could not be opened: they are sealed with key ${keyId(secondKey)}, which is neither ` +
      'ALLOT_ENCRYPTION_KEY nor in ALLOT_PREVIOUS_ENCRYPTION_KEYS. Add that key and run it again.',
  );
  // The workspace installed under the key Allot holds is answered as ever.
  ws.user('UANA', { name: 'Ana' });
  expect(textOf((await ws.command('UANA', '/balance', '')).reply)).toContain('0 tokens');
});
