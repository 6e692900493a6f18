import { formatTokens } from '../ledger/amount.models';
import type { ExpiringReport } from '../ledger/lots.repository';
import { validUntilLabel } from '../lib/expiry.models';
import { type Block, type ChatMessage, context, type Line, message, text } from '../notify/message.models';
import { formatMoney, valuePerMoney } from '../usage/pricing.models';
import type { DigestSchedule, GrantStats, LimitWatch, Mover, WeekTotals } from './digest.repository';

export interface DigestLeaderRow {
  rank: number;
  memberId: bigint;
  name: string;
  tokens: bigint;
  value: bigint;
  costMicros: bigint;
}

export interface DigestData {
  organisationName: string;
  /** The week reported on: [from, to), local to the organisation's zone. */
  from: Date;
  to: Date;
  timeZone: string;
  leaderboard: DigestLeaderRow[] | 'disabled';
  hideMoney: boolean;
  totals: WeekTotals;
  previousTotals: WeekTotals;
  grants: GrantStats;
  requests: { approved: number; denied: number; expired: number; approvedTokens: bigint };
  movers: Mover[];
  /** Tokens that expired during the week (moved to `expired`). */
  expiredTokens: bigint;
}

function dayLabel(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short' }).format(at);
}

/** Value per unit of money, as "12.3k value/$"; "—" when nothing was spent. */
export function formatValuePerMoney(value: bigint, costMicros: bigint): string {
  const perUnit = valuePerMoney(value, costMicros);
  return perUnit === null ? '—' : `${formatTokens(perUnit)} value per $`;
}

function change(current: bigint, previous: bigint): string {
  if (previous === 0n) return current === 0n ? 'no change' : 'new this week';
  const percent = ((current - previous) * 100n) / previous;
  return `${percent >= 0n ? '+' : ''}${percent}% on the week before`;
}

/** The weekly digest as a platform-neutral message (Block Kit in Slack, an Adaptive Card in Teams). */
export function digestMessage(data: DigestData): ChatMessage {
  const end = new Date(data.to.getTime() - 1);
  const title = `Allot weekly digest · ${dayLabel(data.from, data.timeZone)} – ${dayLabel(end, data.timeZone)}`;
  return message(
    title,
    { type: 'header', text: title },
    ...totalsBlocks(data),
    ...leaderboardBlocks(data),
    ...moversBlocks(data),
    ...grantsBlocks(data),
  );
}

function totalsBlocks(data: DigestData): Block[] {
  const totalsFields: { label: string; value: Line }[] = [
    { label: 'Tokens used', value: [formatTokens(data.totals.tokens)] },
    { label: 'Value-weighted', value: [formatTokens(data.totals.value)] },
  ];
  if (!data.hideMoney) {
    totalsFields.push(
      { label: 'Spent', value: [formatMoney(data.totals.costMicros)] },
      { label: 'Value per money', value: [formatValuePerMoney(data.totals.value, data.totals.costMicros)] },
    );
  }
  return [
    { type: 'fields', fields: totalsFields },
    context(`Value ${change(data.totals.value, data.previousTotals.value)} · ${data.totals.members} people used AI`),
  ];
}

function leaderboardBlocks(data: DigestData): Block[] {
  if (data.leaderboard === 'disabled') return [];
  const lines: Line[] =
    data.leaderboard.length === 0
      ? [['No usage this week.']]
      : data.leaderboard.map((row) => {
          const line: Line = [
            `${row.rank}. `,
            { bold: row.name },
            ` — ${formatTokens(row.value)} value · ${formatTokens(row.tokens)} tokens`,
          ];
          if (!data.hideMoney)
            line.push(` · ${formatMoney(row.costMicros)} · ${formatValuePerMoney(row.value, row.costMicros)}`);
          return line;
        });
  return [{ type: 'divider' }, text([{ bold: 'Leaderboard (value-weighted tokens)' }]), text(...lines)];
}

function moversBlocks(data: DigestData): Block[] {
  if (data.movers.length === 0) return [];
  return [
    text([{ bold: 'Biggest movers' }]),
    text(
      ...data.movers
        .slice(0, 3)
        .map(
          (mover): Line => [
            { bold: mover.name },
            ` +${formatTokens(mover.value - mover.previousValue)} value (${formatTokens(mover.previousValue)} → ${formatTokens(mover.value)})`,
          ],
        ),
    ),
  ];
}

/** "Most received: Ana 50,000, Ben 20,000" (at most three names). */
function topLine(label: string, entries: { name: string; amount: bigint }[]): Line {
  return [
    label,
    ...entries
      .slice(0, 3)
      .flatMap((entry, index): Line => [index > 0 ? ', ' : '', { bold: entry.name }, ` ${formatTokens(entry.amount)}`]),
  ];
}

function grantsBlocks(data: DigestData): Block[] {
  const grantLine: Line =
    data.grants.grants === 0
      ? ['No bonus grants this week.']
      : [
          `${data.grants.grants} grant${data.grants.grants === 1 ? '' : 's'}, `,
          { bold: `${formatTokens(data.grants.total)} tokens` },
          ' given.',
        ];
  const lines: Line[] = [grantLine];
  if (data.grants.topRecipients.length > 0) lines.push(topLine('Most received: ', data.grants.topRecipients));
  if (data.grants.topGranters.length > 0) lines.push(topLine('Most given: ', data.grants.topGranters));
  lines.push([
    `Top-up requests: ${data.requests.approved} approved (${formatTokens(data.requests.approvedTokens)} tokens), ${data.requests.denied} denied`,
    data.requests.expired > 0 ? `, ${data.requests.expired} expired` : '',
    '.',
  ]);
  if (data.expiredTokens > 0n) {
    lines.push(['⏳ ', { bold: `${formatTokens(data.expiredTokens)} tokens` }, ' expired unused this week.']);
  }
  return [{ type: 'divider' }, text([{ bold: 'Grants and top-ups' }]), text(...lines)];
}

/** Days ahead a manager's note looks for their reports' expiring tokens. */
export const reportsExpiringDays = 7;

/**
 * A manager's private note: their reports near or over their limit, and their reports' tokens that
 * expire in the next reportsExpiringDays days (either list may be empty, not both).
 */
export function limitWatchMessage(reports: LimitWatch[], expiring: ExpiringReport[] = []): ChatMessage {
  const lines = reports
    .slice(0, 20)
    .map(
      (report): Line => [
        { bold: report.name },
        report.balance < 0n
          ? ` is over their limit by ${formatTokens(-report.balance)} tokens`
          : ` has ${formatTokens(report.balance)} of ${formatTokens(report.received)} tokens left this month`,
      ],
    );
  const expiringLines = expiring
    .slice(0, 20)
    .map(
      (report): Line => [
        { bold: report.name },
        `: ${formatTokens(report.tokens)} tokens expire in the next ${reportsExpiringDays} days, the first on ${validUntilLabel(report.firstExpiresAt, report.timeZone)}`,
      ],
    );
  const summary =
    reports.length > 0
      ? `${reports.length} of your reports ${reports.length === 1 ? 'is' : 'are'} near or over their token limit`
      : `${expiring.length} of your reports ${expiring.length === 1 ? 'has' : 'have'} tokens expiring this week`;
  return message(
    summary,
    ...(lines.length > 0
      ? [
          text([{ bold: 'Your team’s token limits' }]),
          text(...lines),
          context('Top them up with /grant-tokens, or approve their /request-tokens.'),
        ]
      : []),
    ...(expiringLines.length > 0
      ? [
          text([{ bold: 'Tokens your team will lose' }]),
          text(...expiringLines),
          context('Unused tokens expire at the end of that day, in each person’s time zone.'),
        ]
      : []),
  );
}

/** A digest that could not be posted after `attempts` tries; `detail` is the platform's last answer. */
export interface DigestPostFailure {
  schedule: DigestSchedule;
  attempts: number;
  detail: string;
}

/**
 * The admins' note about a digest that could not be posted, in words that name no platform: used
 * where no chat adapter gives its own (`DigestDeps.failureNotice`, which names the channel).
 */
export function digestFailureNoticePlain(failure: DigestPostFailure): ChatMessage {
  return message(
    'The weekly digest could not be posted',
    { type: 'header', text: 'The weekly digest was not posted' },
    text([
      `Allot tried ${failure.attempts} times to post the digest and failed (`,
      { code: failure.detail.slice(0, 200) },
      ').',
    ]),
  );
}
