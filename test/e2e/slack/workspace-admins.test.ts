import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { ledgerOf, settle } from './team';

// Slack marks workspace admins with three flags, and sometimes sends the primary owner with only
// `is_primary_owner` set. Allot reads a person through two paths — users.info when it first meets
// them, and user_change events afterwards — and both must count the same people as admins.

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

const adminFlags = [
  { flag: 'is_admin', user: { is_admin: true } },
  { flag: 'is_owner', user: { is_owner: true } },
  { flag: 'is_primary_owner alone', user: { is_primary_owner: true, is_admin: false, is_owner: false } },
] as const;

describe('Slack workspace admins, owners and the primary owner are Allot admins through every path', () => {
  it.each(adminFlags)('met first through users.info, a person with $flag may use admin commands', async ({ user }) => {
    const ws = new SlackWorkspace(h);
    ws.user('UBOSS', { name: 'Pat', ...user });
    ws.user('UANA', { name: 'Ana' });
    const { reply } = await ws.command('UBOSS', '/tokens', 'role <@UANA> manager');
    expect(textOf(reply)).toContain('is now a *manager*');
    expect((await ledgerOf(h, ws).member('UBOSS')).role).toBe('admin');
  });

  it.each(adminFlags)(
    'known as a member first, a person Slack announces with $flag in user_change becomes an admin',
    async ({ user }) => {
      const ws = new SlackWorkspace(h);
      ws.user('UBOSS', { name: 'Pat' });
      ws.user('UANA', { name: 'Ana' });
      const refused = await ws.command('UBOSS', '/tokens', 'role <@UANA> manager');
      expect(textOf(refused.reply)).toContain('Only admins');
      expect((await ledgerOf(h, ws).member('UBOSS')).role).toBe('member');

      const event = {
        type: 'user_change',
        user: { id: ws.id('UBOSS'), name: 'pat', profile: { display_name: 'Pat' }, ...user },
      };
      expect((await ws.event(event)).status).toBe(200);
      await settle(h);
      expect((await ledgerOf(h, ws).member('UBOSS')).role).toBe('admin');
      const { reply } = await ws.command('UBOSS', '/tokens', 'role <@UANA> manager');
      expect(textOf(reply)).toContain('is now a *manager*');
    },
  );

  it('a person with none of the three flags is a member on both paths', async () => {
    const ws = new SlackWorkspace(h);
    ws.user('UANA', { name: 'Ana' });
    ws.user('UBEN', { name: 'Ben', is_admin: false, is_owner: false, is_primary_owner: false });
    await ws.command('UBEN', '/balance', '');
    const event = {
      type: 'user_change',
      user: { id: ws.id('UBEN'), name: 'ben', is_admin: false, is_owner: false, is_primary_owner: false },
    };
    await ws.event(event);
    await settle(h);
    expect((await ledgerOf(h, ws).member('UBEN')).role).toBe('member');
  });
});
