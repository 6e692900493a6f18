import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setAllowance } from '../../../src/allowances/allowances.usecases';
import { queryRows } from '../../../src/db/client';
import { setDigestSchedule } from '../../../src/digest/digest-schedules.usecases';
import { systemClock } from '../../../src/lib/clock';
import { operatorActor } from '../../../src/lib/context';
import { freePort, killAll, type Spawned, spawnServer, waitForHealthy, withTimeout } from '../../start/spawn';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../support/db';
import { FakeSlack } from '../../support/fake-slack';
import { makeMember, makeOrganisation } from '../../support/fixtures';

// Several replicas behind a load balancer share one Postgres. Each keeps its own timers; the database
// decides which one runs a slot, so a digest is posted once and an allowance issued once per member.
describe.runIf(onPostgres)('three replicas on one Postgres', () => {
  let tdb: TestDatabase;
  const slack = new FakeSlack();

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await slack.start();
  });
  afterAll(async () => {
    killAll();
    await slack.stop();
    await tdb.close();
  });

  it('a schedule falls due: exactly one digest is posted and exactly one allowance issued per member', async () => {
    const ctx = { db: tdb.db, clock: systemClock };
    const org = await makeOrganisation(ctx);
    const members = await Promise.all(['Ana', 'Ben', 'Cy'].map((name) => makeMember(ctx, org.id, { name })));
    const allowance = await setAllowance(ctx, {
      orgId: org.id,
      actor: operatorActor,
      target: { role: 'member' },
      amount: 5_000n,
      period: 'weekly',
      rolloverCapTokens: null,
    });
    expect(allowance.ok).toBe(true);

    // The next minute at least 20 s away, so all three replicas are up before it falls due.
    const due = new Date(Math.ceil((Date.now() + 20_000) / 60_000) * 60_000);
    const schedule = await setDigestSchedule(ctx, {
      orgId: org.id,
      actor: operatorActor,
      destination: { platform: 'slack', ref: { channelId: 'CDIGEST' } },
      cron: `${due.getUTCMinutes()} ${due.getUTCHours()} * * *`,
      timeZone: 'UTC',
    });
    expect(schedule.ok).toBe(true);

    const replicas: Spawned[] = [];
    for (let index = 0; index < 3; index++) {
      const port = await freePort();
      const replica = spawnServer({
        DATABASE_URL: tdb.url,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        SLACK_BOT_TOKEN: 'xoxb-replica-test',
        SLACK_SIGNING_SECRET: 'replica-signing-secret',
        SLACK_API_URL: slack.apiUrl,
      });
      replicas.push(replica);
      await waitForHealthy(replica, port);
    }

    const digestPosts = () => slack.callsOf('chat.postMessage').filter((call) => call.params.channel === 'CDIGEST');
    await withTimeout(
      (async () => {
        while (digestPosts().length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      })(),
      due.getTime() - Date.now() + 30_000,
      'the digest to be posted',
    );
    // Give the other replicas time to (wrongly) post a second copy before counting.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(digestPosts()).toHaveLength(1);

    const allocations = await queryRows<{ member_id: string; issued: string }>(
      tdb.db.orm,
      sql`select a.member_id::text, count(*)::text as issued from transfers t
            join accounts a on a.org_id = t.org_id and a.id = t.credit_account_id
           where t.org_id = ${org.id} and t.code = 'allocate' group by a.member_id order by 1`,
    );
    expect(allocations.map((row) => row.issued)).toEqual(members.map(() => '1'));

    for (const replica of replicas) replica.child.kill('SIGTERM');
    const exits = await Promise.all(
      replicas.map((replica) => withTimeout(replica.exited, 20_000, 'a replica to stop')),
    );
    expect(exits.map((exit) => exit.code)).toEqual([0, 0, 0]);
  }, 180_000);
});
