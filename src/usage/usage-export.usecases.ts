import type { Ctx } from '../lib/context';
import { spreadsheetSafe } from '../lib/csv.models';
import type { Member } from '../members/members.repository';
import * as membersRepo from '../members/members.repository';
import { listDailyUsageForExport, type UsageExportCursor, type UsageExportRow } from './usage-history.repository';

// Usage as CSV for finance (the dashboard's "Export usage"): one record per member, local day, model and
// category, from the daily rollups, read a page at a time.

/** The columns of a usage export, in order: its CSV header. */
export const usageExportColumns = [
  'day',
  'member_id',
  'member',
  'email',
  'model',
  'category',
  'events',
  'input_tokens',
  'output_tokens',
  'tokens',
  'value',
  'cost_usd',
] as const;

/** Rows read per page of the export. */
export const usageExportPageSize = 1_000;

/** Micro-units of money as an exact decimal with six places: 1234567 → "1.234567". */
export function microsAsDecimal(micros: bigint): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
}

function usageRecord(row: UsageExportRow, member: Member | undefined): string[] {
  return [
    row.day,
    row.memberId.toString(),
    spreadsheetSafe(member?.displayName ?? ''),
    spreadsheetSafe(member?.email ?? ''),
    spreadsheetSafe(row.model),
    spreadsheetSafe(row.category),
    row.events.toString(),
    row.inputTokens.toString(),
    row.outputTokens.toString(),
    row.tokens.toString(),
    row.value.toString(),
    microsAsDecimal(row.costMicros),
  ];
}

/**
 * Every daily rollup of local days [start, end) as export records (usageExportColumns), by member then
 * day, one page of `usageExportPageSize` at a time: the caller writes each page before the next is read.
 */
export async function* usageExportPages(
  ctx: Ctx,
  input: { orgId: bigint; start: string; end: string },
): AsyncGenerator<string[][]> {
  const members = new Map<bigint, Member>();
  let after: UsageExportCursor | undefined;
  for (;;) {
    const page = await listDailyUsageForExport(ctx.db.orm, { ...input, after, limit: usageExportPageSize });
    if (page.length === 0) return;
    const unknown = [...new Set(page.map((row) => row.memberId))].filter((id) => !members.has(id));
    for (const member of await membersRepo.findMembers(ctx.db.orm, input.orgId, unknown))
      members.set(member.id, member);
    yield page.map((row) => usageRecord(row, members.get(row.memberId)));
    const last = page[page.length - 1]!;
    after = { memberId: last.memberId, day: last.day, model: last.model, category: last.category };
    if (page.length < usageExportPageSize) return;
  }
}
