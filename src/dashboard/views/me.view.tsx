import type { TopUpRequest } from '../../approvals/approvals.repository';
import type { MemberSummary } from '../../chat/summary.usecases';
import type { HistoryWindowDays, UsageHistory } from '../../usage/usage-history.models';
import { type NoticeInput, NoticeLines, UsageChart, UsageTotalsTable, WindowSwitcher } from './components';
import { formatLocalTime, formatSignedTokens, formatTokens } from './format.models';
import { CsrfField, type FrameViewer, Page } from './layout';

// The "Me" page: balance, held and available, the next allowance, grants expiring, usage by model over
// 30 or 90 days (a chart and its table), recent transfers and one's own requests.

/** Tokens of one grant (a lot) that will expire: how many, when, and the day they are valid until. */
export interface ExpiringGrant {
  amount: bigint;
  expiresAt: Date;
  /** `31 Dec 2026`, in the member's zone. */
  validUntil: string;
  memo: string;
}

export interface MePageData {
  summary: MemberSummary;
  next: { amount: bigint; period: string; at: Date; timeZone: string } | undefined;
  history: UsageHistory;
  expiring: ExpiringGrant[];
  days: HistoryWindowDays;
  timeZone: string;
}

function describeTransfer(entry: MemberSummary['recent'][number]): string {
  const { transfer, counterpart } = entry;
  switch (transfer.code) {
    case 'grant':
      return counterpart ? `Grant from ${counterpart.name}` : 'Grant';
    case 'topup':
      return counterpart ? `Top-up approved by ${counterpart.name}` : 'Top-up';
    case 'usage':
      return 'AI usage';
    case 'allocate':
      return 'Allowance';
    case 'reversal':
      return `Reversal of transfer ${transfer.reversesTransferId}`;
    default:
      return transfer.code;
  }
}

function BalanceSection(props: { data: MePageData }) {
  const { summary, next } = props.data;
  const showBudget = summary.member.role !== 'member' || summary.budget > 0n;
  return (
    <section aria-labelledby="balance">
      <h2 id="balance">Balance</h2>
      <dl class="figures">
        <div>
          <dt>Wallet</dt>
          <dd>
            {formatTokens(summary.wallet)} tokens{summary.wallet < 0n ? ' (over by usage)' : ''}
          </dd>
        </div>
        <div>
          <dt>Held by AI calls in flight</dt>
          <dd>{formatTokens(summary.held)} tokens</dd>
        </div>
        <div>
          <dt>Available</dt>
          <dd>{formatTokens(summary.wallet - summary.held)} tokens</dd>
        </div>
        {showBudget ? (
          <div>
            <dt>Budget to grant</dt>
            <dd>{formatTokens(summary.budget)} tokens</dd>
          </div>
        ) : null}
        <div>
          <dt>Next allowance</dt>
          <dd>
            {next
              ? `${formatTokens(next.amount)} tokens on ${formatLocalTime(next.at, next.timeZone)} (${next.timeZone})`
              : 'None set'}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function ExpiringSection(props: { expiring: ExpiringGrant[] }) {
  if (props.expiring.length === 0) return null;
  return (
    <section aria-labelledby="expiring">
      <h2 id="expiring">Tokens expiring</h2>
      <ul>
        {props.expiring.map((grant, index) => (
          <li key={`${grant.expiresAt.toISOString()}-${index}`}>
            {formatTokens(grant.amount)} tokens expire on {grant.validUntil}
            {grant.memo ? ` — ${grant.memo}` : ''}
          </li>
        ))}
      </ul>
      <p>Tokens that expire soonest are spent first.</p>
    </section>
  );
}

function UsageSection(props: { history: UsageHistory; days: HistoryWindowDays }) {
  const { history } = props;
  return (
    <section aria-labelledby="usage">
      <h2 id="usage">Usage by model</h2>
      <WindowSwitcher days={props.days} href={(days) => `/dashboard/me?days=${days}`} />
      <UsageChart id="me-usage" title={`Tokens per day, last ${props.days} days`} history={history} metric="tokens" />
      <UsageTotalsTable
        caption={`Usage by model, last ${props.days} days`}
        keyHeader="Model"
        allLabel="All models"
        history={history}
        withValue={false}
      />
    </section>
  );
}

function TransfersSection(props: { summary: MemberSummary; timeZone: string }) {
  const { recent } = props.summary;
  return (
    <section aria-labelledby="transfers">
      <h2 id="transfers">Recent transfers</h2>
      {recent.length === 0 ? (
        <p class="empty">No grants or usage yet.</p>
      ) : (
        <table>
          <caption>Your latest transfers, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When ({props.timeZone})</th>
              <th scope="col">What</th>
              <th scope="col" class="num">
                Tokens
              </th>
              <th scope="col">Memo</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((entry) => (
              <tr key={entry.transfer.id.toString()}>
                <td>{formatLocalTime(entry.transfer.createdAt, props.timeZone)}</td>
                <td>{describeTransfer(entry)}</td>
                <td class="num">{formatSignedTokens(entry.transfer.amount, entry.direction)}</td>
                <td class="memo">{entry.transfer.memo}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RequestsSection(props: { requests: TopUpRequest[]; csrfToken: string; timeZone: string }) {
  return (
    <section aria-labelledby="requests">
      <h2 id="requests">My requests</h2>
      {props.requests.length === 0 ? (
        <p class="empty">
          No requests. Ask for more tokens with <code>/request-tokens 200k eval runs</code> in Slack or Teams.
        </p>
      ) : (
        <table>
          <caption>Your top-up requests, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col" class="num">
                Tokens
              </th>
              <th scope="col">Reason</th>
              <th scope="col">Asked</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {props.requests.map((request) => (
              <tr key={request.id.toString()}>
                <td>#{request.id.toString()}</td>
                <td class="num">{formatTokens(request.amount)}</td>
                <td class="memo">{request.reason}</td>
                <td>{formatLocalTime(request.createdAt, props.timeZone)}</td>
                <td>
                  {request.state}
                  {request.state === 'pending' ? (
                    <form method="post" action={`/dashboard/me/requests/${request.id}/cancel`} class="inline">
                      <CsrfField token={props.csrfToken} />
                      <button type="submit" aria-label={`Cancel request ${request.id}`}>
                        Cancel
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function mePage(input: { viewer: FrameViewer; data: MePageData; notice?: NoticeInput }) {
  const { data } = input;
  return (
    <Page title="My tokens" viewer={input.viewer} section="me" charts>
      <NoticeLines notice={input.notice} />
      <BalanceSection data={data} />
      <ExpiringSection expiring={data.expiring} />
      <UsageSection history={data.history} days={data.days} />
      <TransfersSection summary={data.summary} timeZone={data.timeZone} />
      <RequestsSection
        requests={data.summary.ownRequests}
        csrfToken={input.viewer.csrfToken}
        timeZone={data.timeZone}
      />
    </Page>
  );
}
