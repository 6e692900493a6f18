import { randomBytes } from 'node:crypto';
import { issueBudget } from '../../src/ledger/ledger.usecases';
import { type Ctx, operatorActor } from '../../src/lib/context';
import type { Member, Organisation } from '../../src/members/members.repository';
import type { MemberRole } from '../../src/members/members.tables';
import { addMember } from '../../src/members/members.usecases';
import { createOrganisation } from '../../src/members/organisations.usecases';

export function uniqueKey(prefix = 'k'): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

export async function makeOrganisation(
  ctx: Ctx,
  slug = `org-${randomBytes(4).toString('hex')}`,
): Promise<Organisation> {
  const created = await createOrganisation(ctx, { slug, name: slug, actor: operatorActor });
  if (!created.ok) throw new Error(`organisation: ${created.failure}`);
  return created.value;
}

export async function makeMember(
  ctx: Ctx,
  orgId: bigint,
  options: { name?: string; role?: MemberRole; managerId?: bigint; email?: string; isBot?: boolean } = {},
): Promise<Member> {
  const created = await addMember(ctx, {
    orgId,
    displayName: options.name ?? uniqueKey('person'),
    email: options.email ?? null,
    role: options.role ?? 'member',
    managerId: options.managerId ?? null,
    isBot: options.isBot ?? false,
    actor: operatorActor,
  });
  if (!created.ok) throw new Error(`member: ${created.failure}`);
  return created.value;
}

/** An organisation with an admin, a manager holding `budget` tokens, and two reports. */
export async function makeTeam(ctx: Ctx, budget = 100_000n) {
  const org = await makeOrganisation(ctx);
  const admin = await makeMember(ctx, org.id, { name: 'Ada Admin', role: 'admin' });
  const manager = await makeMember(ctx, org.id, { name: 'Mia Manager', role: 'manager' });
  const ana = await makeMember(ctx, org.id, { name: 'Ana', managerId: manager.id });
  const ben = await makeMember(ctx, org.id, { name: 'Ben', managerId: manager.id });
  if (budget > 0n) {
    const issued = await issueBudget(ctx, {
      orgId: org.id,
      actor: operatorActor,
      managerId: manager.id,
      amount: budget,
      idempotencyKey: uniqueKey('issue'),
    });
    if (!issued.ok) throw new Error(`issue: ${issued.failure}`);
  }
  return { org, admin, manager, ana, ben };
}
