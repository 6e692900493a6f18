import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client';
import { getBalances, grantTokens } from '../../src/ledger/ledger.usecases';
import { type Ctx, operatorActor } from '../../src/lib/context';
import { type Block, type ChatMessage, plainText } from '../../src/notify/message.models';
import { uniqueKey } from '../support/fixtures';

/** Gives members tokens from the treasury, as an admin's grant would. */
export async function fund(ctx: Ctx, orgId: bigint, memberIds: bigint[], amount: bigint): Promise<void> {
  const granted = await grantTokens(ctx, {
    orgId,
    actor: operatorActor,
    recipientIds: memberIds,
    amount,
    idempotencyKey: uniqueKey('fund'),
  });
  if (!granted.ok) throw new Error(`fund: ${granted.failure}`);
}

export async function wallet(ctx: Ctx, orgId: bigint, memberId: bigint): Promise<bigint> {
  const balances = await getBalances(ctx.db.orm, orgId, memberId);
  if (!balances) throw new Error('no wallet');
  return balances.wallet;
}

export interface EventShape {
  id: string;
  time: string;
  user: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  category?: string;
}

export function event(overrides: Partial<EventShape> & { user: string }): EventShape {
  return {
    id: uniqueKey('evt'),
    time: '2026-01-05T08:00:00Z',
    model: 'gpt-4o',
    input_tokens: 1000,
    output_tokens: 500,
    ...overrides,
  };
}

/** Everything ingestion writes for an organisation, to compare before and after a replay. */
export async function usageSnapshot(ctx: Ctx, orgId: bigint) {
  const org = orgId.toString();
  const [counts] = await queryRows<{
    events: string;
    transfers: string;
    rollup_tokens: string;
    rollup_rows: string;
    period_value: string;
  }>(
    ctx.db.orm,
    sql`select (select count(*) from usage_events where org_id = ${org}::bigint)::text as events,
               (select count(*) from transfers where org_id = ${org}::bigint)::text as transfers,
               (select coalesce(sum(tokens), 0) from usage_daily_rollups where org_id = ${org}::bigint)::text as rollup_tokens,
               (select count(*) from usage_daily_rollups where org_id = ${org}::bigint)::text as rollup_rows,
               (select coalesce(sum(value), 0) from usage_period_totals where org_id = ${org}::bigint)::text as period_value`,
  );
  const balances = await queryRows<{ id: string; balance: string }>(
    ctx.db.orm,
    sql`select id::text, balance::text from accounts where org_id = ${org}::bigint order by id`,
  );
  return { ...counts, balances };
}

/** All the text a person would read in a message, flattened (member mentions as names). */
export function messageText(message: ChatMessage | { blocks: Block[] } | Block[]): string {
  const blocks = Array.isArray(message) ? message : message.blocks;
  return blocks
    .map((block) => {
      switch (block.type) {
        case 'header':
          return block.text;
        case 'text':
          return block.lines.map(plainText).join('\n');
        case 'fields':
          return block.fields.map((field) => `${field.label}: ${plainText(field.value)}`).join('\n');
        case 'context':
          return plainText(block.line);
        case 'actions':
          return block.actions.map((action) => action.label).join(' ');
        case 'divider':
          return '---';
      }
      return '';
    })
    .join('\n');
}
