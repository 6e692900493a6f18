import { networkInterfaces } from 'node:os';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { queryRows } from '../../../src/db/client';
import { systemClock } from '../../../src/lib/clock';
import { operatorActor } from '../../../src/lib/context';
import { createOrganisation, linkWorkspace } from '../../../src/members/organisations.usecases';
import {
  cardActionInvoke,
  installationUpdateActivity,
  makePerson,
  messageActivity,
  newTenantId,
  personalConversation,
  startTeamsHarness,
  type TeamsHarness,
} from './teams-harness';

// Who may post to POST /api/messages when no MICROSOFT_APP_ID is set. The issue that asked for this: one
// unauthenticated POST with a linked tenant id created a member, and one forged with an admin's Entra
// object id could have granted from the treasury.

/** Every table a Teams activity can write to. */
const touchedTables = [
  'organisations',
  'workspaces',
  'members',
  'member_identities',
  'audit_log',
  'accounts',
  'transfers',
  'teams_conversations',
  'topup_requests',
  'approval_messages',
  'inbound_deliveries',
] as const;

async function rowCounts(harness: TeamsHarness): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of touchedTables) {
    const [row] = await queryRows<{ n: number }>(
      harness.allot.deps.ctx.db.orm,
      sql.raw(`select count(*)::int as n from ${table}`),
    );
    counts[table] = Number(row!.n);
  }
  return counts;
}

/** A non-loopback address of this machine (e.g. eth0's), or undefined if it has none. */
function machineAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && !entry.internal && entry.family === family && !entry.address.startsWith('fe80:'))
    ?.address;
}

/**
 * A linked tenant with an admin named in ALLOT_ADMINS (by Entra object id), and the activities an
 * attacker would send: install, a budget from the treasury, a click on an approval card.
 */
async function forgedActivities(harness: TeamsHarness, tenantId: string) {
  const ctx = { db: harness.allot.deps.ctx.db, clock: systemClock };
  const created = await createOrganisation(ctx, { slug: `acme-${tenantId.slice(0, 8)}`, actor: operatorActor });
  if (!created.ok) throw new Error(`organisation not created: ${created.failure}`);
  const linked = await linkWorkspace(ctx, { orgId: created.value.id, platform: 'teams', externalId: tenantId });
  expect(linked.ok).toBe(true);
  const admin = makePerson('Ada Admin', tenantId, 'ada@contoso.example');
  const mia = makePerson('Mia Manager', tenantId);
  harness.connector.addMember(admin);
  harness.connector.addMember(mia);
  const serviceUrl = harness.connector.url;
  const conversation = personalConversation(admin);
  return [
    installationUpdateActivity({ serviceUrl, tenantId, from: admin, conversation, action: 'add' }),
    messageActivity({
      serviceUrl,
      tenantId,
      from: admin,
      conversation,
      text: 'tokens budget <at>Mia Manager</at> 1M',
      mentions: [mia],
    }),
    cardActionInvoke({
      serviceUrl,
      tenantId,
      from: admin,
      conversation,
      verb: 'request.approve',
      data: { allot: { action: 'request.approve', value: '1' } },
      replyToId: 'card-1',
    }),
  ];
}

let harness: TeamsHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('without MICROSOFT_APP_ID', () => {
  it('by default every activity gets 401 and nothing is written or sent, even for a linked tenant and an admin', async () => {
    const tenantId = newTenantId();
    harness = await startTeamsHarness({
      env: { TEAMS_ALLOW_UNAUTHENTICATED: 'false', ALLOT_ADMINS: 'ada@contoso.example' },
    });
    const activities = await forgedActivities(harness, tenantId);
    const before = await rowCounts(harness);
    expect(before.organisations).toBe(1);
    for (const activity of activities) {
      const response = await harness.post(activity);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ error: 'unauthorized' });
    }
    // Not even a body that is not an activity gets as far as being read.
    expect((await harness.post({ not: 'an activity' })).status).toBe(401);
    expect(await rowCounts(harness)).toEqual(before);
    expect(harness.connector.requests).toEqual([]);
  });

  const ipv4 = machineAddress('IPv4');
  it.runIf(ipv4)(
    `with TEAMS_ALLOW_UNAUTHENTICATED an activity to this machine's own non-loopback address (${ipv4}) gets 401 and writes nothing, whatever X-Forwarded-For says; over loopback it is answered`,
    async () => {
      const tenantId = newTenantId();
      harness = await startTeamsHarness({
        env: { TEAMS_ALLOW_UNAUTHENTICATED: 'true', HOST: '0.0.0.0', ALLOT_ADMINS: 'ada@contoso.example' },
        address: ipv4,
      });
      const activities = await forgedActivities(harness, tenantId);
      const before = await rowCounts(harness);
      for (const activity of activities) {
        expect((await harness.post(activity)).status).toBe(401);
        // The server trusts proxies for req.ip; the check reads the socket's own peer address instead.
        expect((await harness.post(activity, { 'x-forwarded-for': '127.0.0.1' })).status).toBe(401);
      }
      expect(await rowCounts(harness)).toEqual(before);
      expect(harness.connector.requests).toEqual([]);

      // The same server answers the same kind of activity sent over loopback.
      const ana = makePerson('Ana Lopez', tenantId);
      harness.connector.addMember(ana);
      const activity = messageActivity({
        serviceUrl: harness.connector.url,
        tenantId,
        from: ana,
        conversation: personalConversation(ana),
        text: 'balance',
      });
      const overLoopback = await fetch(`http://127.0.0.1:${harness.allot.port}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(activity),
      });
      expect(overLoopback.status).toBe(200);
      expect(harness.connector.sentActivities().filter((sent) => sent.replyToId === activity.id)).toHaveLength(1);
    },
  );

  const ipv6 = machineAddress('IPv6');
  it.runIf(ipv6)(
    `listening on :: with TEAMS_ALLOW_UNAUTHENTICATED, ::1 and IPv4-mapped 127.0.0.1 are answered and ${ipv6} gets 401`,
    async () => {
      const tenantId = newTenantId();
      harness = await startTeamsHarness({ env: { TEAMS_ALLOW_UNAUTHENTICATED: 'true', HOST: '::' }, address: '::1' });
      const ana = makePerson('Ana Lopez', tenantId);
      harness.connector.addMember(ana);
      const conversation = personalConversation(ana);
      const serviceUrl = harness.connector.url;
      const overIpv6 = messageActivity({ serviceUrl, tenantId, from: ana, conversation, text: 'balance' });
      expect((await harness.post(overIpv6)).status).toBe(200);
      // A dual-stack socket sees an IPv4 client as ::ffff:127.0.0.1.
      const port = harness.allot.port;
      const overIpv4 = messageActivity({ serviceUrl, tenantId, from: ana, conversation, text: 'balance' });
      const mapped = await fetch(`http://127.0.0.1:${port}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(overIpv4),
      });
      expect(mapped.status).toBe(200);
      const before = await rowCounts(harness);
      const outside = messageActivity({ serviceUrl, tenantId, from: ana, conversation, text: 'balance' });
      const refused = await fetch(`http://[${ipv6}]:${port}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(outside),
      });
      expect(refused.status).toBe(401);
      expect(await rowCounts(harness)).toEqual(before);
      const answered = harness.connector.sentActivities().map((sent) => sent.replyToId);
      expect(answered).toContain(overIpv6.id);
      expect(answered).toContain(overIpv4.id);
      expect(answered).not.toContain(outside.id);
    },
  );
});
