import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client';
import { type Actor, operatorActor } from '../../src/lib/context';
import type { Member } from '../../src/members/members.repository';
import { setMemberActive } from '../../src/members/members.usecases';
import {
  hashSecretToken,
  sessionIdleMs,
  sessionLifetimeMs,
  signInLinkValidityMs,
} from '../../src/sessions/sessions.models';
import {
  endSession,
  inspectSignInLink,
  issueSignInLink,
  redeemSignInLink,
  resolveSession,
  sweepStaleSessions,
} from '../../src/sessions/sessions.usecases';
import { createTestCtx, createTestDatabase, type TestDatabase } from '../support/db';
import { makeMember, makeOrganisation } from '../support/fixtures';

// Sign-in links and dashboard sessions on the real database: a link works once, for ten minutes, for
// its member only; a session ends when idle for 12 hours, after a week, at sign-out, or when its member
// is deactivated; only hashes are stored; every change leaves an audit row.

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => tdb.close());

const dashboardUrl = 'https://allot.acme.com';

/** A fresh organisation with one member, Ana, on the shared test database. */
async function newOrganisation() {
  const ctx = createTestCtx(tdb.db);
  const org = await makeOrganisation(ctx);
  const ana = await makeMember(ctx, org.id, { name: 'Ana' });
  return { ctx, org, ana };
}

type Setup = Awaited<ReturnType<typeof newOrganisation>>;

async function linkFor(setup: Setup, member: Member = setup.ana, actor: Actor = operatorActor): Promise<string> {
  const issued = await issueSignInLink(setup.ctx, {
    orgId: member.orgId,
    memberId: member.id,
    via: 'cli',
    actor,
    dashboardUrl,
  });
  if (!issued.ok) throw new Error(issued.failure);
  return issued.value.url;
}

const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

async function auditActions(setup: Setup): Promise<string[]> {
  const rows = await queryRows<{ action: string }>(
    setup.ctx.db.orm,
    sql`select action from audit_log where org_id = ${setup.org.id.toString()}::bigint and action like 'dashboard.%' order by id`,
  );
  return rows.map((row) => row.action);
}

describe('sign-in links', () => {
  it('a link is the dashboard’s address and a 256-bit token, of which only the hash is stored', async () => {
    const setup = await newOrganisation();
    const url = await linkFor(setup);
    expect(url).toMatch(/^https:\/\/allot\.acme\.com\/dashboard\/signin\/[A-Za-z0-9_-]{43}$/);
    const rows = await queryRows<{ token_hash: string; member_id: string; expires_in: string }>(
      setup.ctx.db.orm,
      sql`select token_hash, member_id::text,
                 extract(epoch from expires_at - created_at)::int::text as expires_in
            from sign_in_links where org_id = ${setup.org.id.toString()}::bigint`,
    );
    expect(rows).toEqual([
      { token_hash: hashSecretToken(tokenOf(url)), member_id: setup.ana.id.toString(), expires_in: '600' },
    ]);
    expect(JSON.stringify(rows)).not.toContain(tokenOf(url));
    expect(await auditActions(setup)).toEqual(['dashboard.link']);
  });

  it('a link starts one session for its member, once', async () => {
    const setup = await newOrganisation();
    const token = tokenOf(await linkFor(setup));
    const started = await redeemSignInLink(setup.ctx, { token });
    expect(started.ok && started.value.member.id).toBe(setup.ana.id);
    expect(await redeemSignInLink(setup.ctx, { token })).toEqual({ ok: false, failure: 'link_used' });
    expect(await inspectSignInLink(setup.ctx, token)).toEqual({ ok: false, failure: 'link_used' });
    expect(await auditActions(setup)).toEqual(['dashboard.link', 'dashboard.signin']);
  });

  it('the same link opened eight times at once starts exactly one session', async () => {
    const setup = await newOrganisation();
    const token = tokenOf(await linkFor(setup));
    const results = await Promise.all(Array.from({ length: 8 }, () => redeemSignInLink(setup.ctx, { token })));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.failure)).toEqual(
      Array(7).fill('link_used'),
    );
    const [count] = await queryRows<{ n: string }>(
      setup.ctx.db.orm,
      sql`select count(*)::text as n from dashboard_sessions where org_id = ${setup.org.id.toString()}::bigint`,
    );
    expect(count?.n).toBe('1');
  });

  it('a link is refused once its ten minutes are up, and starts nothing', async () => {
    const setup = await newOrganisation();
    const token = tokenOf(await linkFor(setup));
    setup.ctx.clock.advanceMs(signInLinkValidityMs);
    expect(await redeemSignInLink(setup.ctx, { token })).toEqual({ ok: false, failure: 'link_expired' });
    expect(await auditActions(setup)).toEqual(['dashboard.link']);
  });

  it('a token that is not one of Allot’s is refused without a lookup of anything else', async () => {
    const setup = await newOrganisation();
    for (const token of ['', 'short', 'A'.repeat(43), `${'A'.repeat(42)}=`, "'; drop table members; --"]) {
      expect(await redeemSignInLink(setup.ctx, { token }), token).toEqual({ ok: false, failure: 'link_invalid' });
    }
  });

  it('a deactivated member gets no link, and a link made before is refused', async () => {
    const setup = await newOrganisation();
    const token = tokenOf(await linkFor(setup));
    await setMemberActive(setup.ctx, {
      orgId: setup.org.id,
      actor: operatorActor,
      memberId: setup.ana.id,
      active: false,
    });
    expect(await redeemSignInLink(setup.ctx, { token })).toEqual({ ok: false, failure: 'member_inactive' });
    const issued = await issueSignInLink(setup.ctx, {
      orgId: setup.org.id,
      memberId: setup.ana.id,
      via: 'slack',
      actor: operatorActor,
      dashboardUrl,
    });
    expect(issued).toEqual({ ok: false, failure: 'member_inactive' });
  });
});

describe('sessions', () => {
  async function signedIn(setup: Setup) {
    const started = await redeemSignInLink(setup.ctx, { token: tokenOf(await linkFor(setup)) });
    if (!started.ok) throw new Error(started.failure);
    return started.value;
  }

  it('a session lives while used, and ends after 12 hours without a request', async () => {
    const setup = await newOrganisation();
    const { sessionToken } = await signedIn(setup);
    for (let hour = 0; hour < 30; hour += 10) {
      setup.ctx.clock.advanceMs(10 * 60 * 60 * 1000);
      expect((await resolveSession(setup.ctx, sessionToken)).ok, `after ${hour + 10} hours in use`).toBe(true);
    }
    setup.ctx.clock.advanceMs(sessionIdleMs);
    expect(await resolveSession(setup.ctx, sessionToken)).toEqual({ ok: false, failure: 'session_expired' });
  });

  it('a session in constant use still ends a week after sign-in', async () => {
    const setup = await newOrganisation();
    const { sessionToken } = await signedIn(setup);
    const steps = Math.ceil(sessionLifetimeMs / (6 * 60 * 60 * 1000));
    for (let step = 1; step < steps; step++) {
      setup.ctx.clock.advanceMs(6 * 60 * 60 * 1000);
      expect((await resolveSession(setup.ctx, sessionToken)).ok).toBe(true);
    }
    setup.ctx.clock.advanceMs(6 * 60 * 60 * 1000);
    expect(await resolveSession(setup.ctx, sessionToken)).toEqual({ ok: false, failure: 'session_expired' });
  });

  it('signing out ends the session once, with one audit row', async () => {
    const setup = await newOrganisation();
    const { sessionToken, session } = await signedIn(setup);
    await endSession(setup.ctx, { session });
    await endSession(setup.ctx, { session });
    expect(await resolveSession(setup.ctx, sessionToken)).toEqual({ ok: false, failure: 'session_ended' });
    expect(await auditActions(setup)).toEqual(['dashboard.link', 'dashboard.signin', 'dashboard.signout']);
  });

  it('a session ends when its member is deactivated, and the role is read afresh on every request', async () => {
    const setup = await newOrganisation();
    const { sessionToken } = await signedIn(setup);
    await tdb.db.orm.execute(
      sql`update members set role = 'manager' where org_id = ${setup.org.id.toString()}::bigint and id = ${setup.ana.id.toString()}::bigint`,
    );
    const live = await resolveSession(setup.ctx, sessionToken);
    expect(live.ok && live.value.member.role).toBe('manager');
    await setMemberActive(setup.ctx, {
      orgId: setup.org.id,
      actor: operatorActor,
      memberId: setup.ana.id,
      active: false,
    });
    expect(await resolveSession(setup.ctx, sessionToken)).toEqual({ ok: false, failure: 'member_inactive' });
  });

  it('only the session token’s hash is stored, and a cookie of the right shape but unknown is refused', async () => {
    const setup = await newOrganisation();
    const { sessionToken } = await signedIn(setup);
    const [row] = await queryRows<{ token_hash: string }>(
      setup.ctx.db.orm,
      sql`select token_hash from dashboard_sessions where org_id = ${setup.org.id.toString()}::bigint`,
    );
    expect(row?.token_hash).toBe(hashSecretToken(sessionToken));
    expect(await resolveSession(setup.ctx, 'B'.repeat(43))).toEqual({ ok: false, failure: 'session_invalid' });
  });

  it('the sweep removes links and sessions dead for over a day and keeps the live ones', async () => {
    const setup = await newOrganisation();
    const dead = await signedIn(setup);
    await linkFor(setup);
    setup.ctx.clock.advanceMs(2 * 24 * 60 * 60 * 1000);
    const live = await signedIn(setup);
    const swept = await sweepStaleSessions(setup.ctx);
    expect(swept.links).toBeGreaterThanOrEqual(2);
    expect(swept.sessions).toBeGreaterThanOrEqual(1);
    expect((await resolveSession(setup.ctx, live.sessionToken)).ok).toBe(true);
    expect(await resolveSession(setup.ctx, dead.sessionToken)).toEqual({ ok: false, failure: 'session_invalid' });
  });
});
