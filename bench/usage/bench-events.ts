// What the ingestion benches share (bench:usage, bench/usage/ingest-profile.ts, bench:dashboard's
// trigger cost): an organisation of funded members, and batches of new usage events as a gateway
// sends them.
import { grantTokens } from '../../src/ledger/ledger.usecases';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { addMember } from '../../src/members/members.usecases';
import { createOrganisation } from '../../src/members/organisations.usecases';

/** The models and categories bench events cycle through. */
export const benchModels = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'gpt-5', 'o4-mini'];
export const benchCategories = ['code', 'review', 'docs', 'chat'];

/**
 * A new organisation `slug` with `members` members (`email(i)`, named `name(i)`), each granted
 * 1,000,000,000 tokens from the treasury, 50 people per grant (keys `<slug>-fund-<i>`), so no debit of a
 * bench is ever refused. Throws on any refusal. Returns the organisation's id and the members' emails
 * and ids, in order.
 */
export async function fundedOrganisation(
  ctx: Ctx,
  input: { slug: string; members: number; email: (i: number) => string; name?: (i: number) => string },
): Promise<{ orgId: bigint; emails: string[]; memberIds: bigint[] }> {
  const created = await createOrganisation(ctx, { slug: input.slug, actor: operatorActor });
  if (!created.ok) throw new Error(created.failure);
  const orgId = created.value.id;
  const emails: string[] = [];
  const memberIds: bigint[] = [];
  for (let i = 0; i < input.members; i++) {
    const email = input.email(i);
    const member = await addMember(ctx, { orgId, displayName: input.name?.(i) ?? email, email, actor: operatorActor });
    if (!member.ok) throw new Error(member.failure);
    emails.push(email);
    memberIds.push(member.value.id);
  }
  for (let i = 0; i < memberIds.length; i += 50) {
    const granted = await grantTokens(ctx, {
      orgId,
      actor: operatorActor,
      recipientIds: memberIds.slice(i, i + 50),
      amount: 1_000_000_000n,
      idempotencyKey: `${input.slug}-fund-${i}`,
    });
    if (!granted.ok) throw new Error(granted.failure);
  }
  return { orgId, emails, memberIds };
}

/**
 * `count` batches of `batchSize` new events as they arrive from JSON.parse, deterministic for a given
 * `now`: ids unique per `set`, times over the 6 hours before `now` (gateways report within hours),
 * 6 models, 4 categories. Who sent each: by default skewed as real use is (member ⌊m·u³⌋ for a
 * uniform u: the heaviest members send most events; about 600 distinct members per batch of 1,000
 * with 1,000 members); `uniform` spreads them evenly (nearly every member in every batch), the
 * costliest case.
 */
export function newEventBatches(input: {
  emails: readonly string[];
  count: number;
  batchSize: number;
  now: number;
  set?: number;
  uniform?: boolean;
}): Record<string, unknown>[][] {
  const { emails, batchSize } = input;
  return Array.from({ length: input.count }, (_, b) =>
    Array.from({ length: batchSize }, (_, i) => {
      const n = b * batchSize + i;
      const u = ((n * 2654435761) % 4294967296) / 4294967296;
      return {
        id: `evt-${input.set ?? 0}-${n.toString(36)}-${(n * 2654435761) % 1_000_003}`,
        time: new Date(input.now - ((n * 7919) % (6 * 3_600_000))).toISOString(),
        user: emails[Math.min(emails.length - 1, Math.floor(emails.length * (input.uniform ? u : u ** 3)))],
        model: benchModels[n % benchModels.length],
        input_tokens: 500 + (n % 4000),
        output_tokens: 100 + (n % 900),
        category: benchCategories[n % benchCategories.length],
      };
    }),
  );
}
