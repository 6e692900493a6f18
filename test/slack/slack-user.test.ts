import { describe, expect, it } from 'vitest';
import { isWorkspaceAdmin, profileOfSlackUser } from '../../src/slack/slack-user.models';

describe('reading a Slack user object', () => {
  it('a primary owner sent with is_admin and is_owner false is a workspace admin', () => {
    expect(isWorkspaceAdmin({ is_primary_owner: true, is_admin: false, is_owner: false })).toBe(true);
    expect(isWorkspaceAdmin({ is_owner: true })).toBe(true);
    expect(isWorkspaceAdmin({ is_admin: true })).toBe(true);
    expect(isWorkspaceAdmin({ is_admin: false, is_owner: false, is_primary_owner: false })).toBe(false);
    expect(isWorkspaceAdmin({})).toBe(false);
  });

  it('names a person by display name, then real name, then handle, and never leaves them nameless', () => {
    expect(profileOfSlackUser({ id: 'U1', name: 'ana', real_name: 'Ana Lima', profile: {} }, 'U1').displayName).toBe(
      'Ana Lima',
    );
    expect(profileOfSlackUser({ id: 'U1', name: 'ana', profile: { display_name: 'Ana' } }, 'U1').displayName).toBe(
      'Ana',
    );
    expect(profileOfSlackUser({}, 'U9').displayName).toBe('U9');
  });

  it('Slackbot and bots are bots; deleted people are inactive', () => {
    expect(profileOfSlackUser({ id: 'USLACKBOT' }, 'USLACKBOT').isBot).toBe(true);
    expect(profileOfSlackUser({ id: 'U2', is_bot: true }, 'U2').isBot).toBe(true);
    expect(profileOfSlackUser({ id: 'U3', deleted: true }, 'U3').isActive).toBe(false);
  });
});
