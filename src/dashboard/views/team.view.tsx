import type { TopUpRequest } from '../../approvals/approvals.repository';
import type { Member } from '../../members/members.repository';
import type { HistoryWindowDays, UsageHistory } from '../../usage/usage-history.models';
import type { MemberUsageTotals } from '../../usage/usage-history.repository';
import { type NoticeInput, NoticeLines, UsageChart, WindowSwitcher } from './components';
import { formatLocalTime, formatMoney, formatTokens } from './format.models';
import { CsrfField, type FrameViewer, Page } from './layout';

// "My team": the viewer's direct reports and the requests waiting for the viewer's decision.

export interface TeamReport {
  member: Member;
  balance: bigint;
  held: bigint;
  receivedThisMonth: bigint;
  usageThisMonth: MemberUsageTotals | undefined;
  /** usage/limits.models: `near` at 10 % or less of what they received this month, `over` below zero. */
  state: 'ok' | 'near' | 'over';
}

export interface TeamPageData {
  reports: TeamReport[];
  pending: { request: TopUpRequest; requester: Member | undefined }[];
  history: UsageHistory;
  days: HistoryWindowDays;
  timeZone: string;
}

const stateText: Record<TeamReport['state'], string> = {
  ok: '',
  near: 'Near the limit',
  over: 'Over (usage went past the wallet)',
};

function PendingSection(props: { pending: TeamPageData['pending']; csrfToken: string; timeZone: string }) {
  return (
    <section aria-labelledby="waiting">
      <h2 id="waiting">Waiting for your decision</h2>
      {props.pending.length === 0 ? (
        <p class="empty">No requests are waiting for you.</p>
      ) : (
        <table>
          <caption>Top-up requests waiting for you, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">From</th>
              <th scope="col" class="num">
                Tokens
              </th>
              <th scope="col">Reason</th>
              <th scope="col">Expires ({props.timeZone})</th>
              <th scope="col">Decision</th>
            </tr>
          </thead>
          <tbody>
            {props.pending.map(({ request, requester }) => {
              const id = request.id.toString();
              const who = requester?.displayName ?? 'someone';
              return (
                <tr key={id}>
                  <td>#{id}</td>
                  <td>{who}</td>
                  <td class="num">{formatTokens(request.amount)}</td>
                  <td class="memo">{request.reason}</td>
                  <td>{formatLocalTime(request.expiresAt, props.timeZone)}</td>
                  <td>
                    <form method="post" action={`/dashboard/team/requests/${id}/approve`} class="row">
                      <CsrfField token={props.csrfToken} />
                      <button type="submit" aria-label={`Approve request ${id} from ${who}`}>
                        Approve
                      </button>
                    </form>
                    <form method="post" action={`/dashboard/team/requests/${id}/deny`} class="row">
                      <CsrfField token={props.csrfToken} />
                      <label>
                        Reason <span class="hint">(optional)</span>
                        <input type="text" name="note" maxLength={500} />
                      </label>
                      <button type="submit" class="danger" aria-label={`Deny request ${id} from ${who}`}>
                        Deny
                      </button>
                    </form>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ReportsSection(props: { reports: TeamReport[] }) {
  return (
    <section aria-labelledby="reports">
      <h2 id="reports">Your reports</h2>
      {props.reports.length === 0 ? (
        <p class="empty">Nobody reports to you yet. An admin sets reporting lines with /tokens manager.</p>
      ) : (
        <table>
          <caption>Balance and usage this month of each person who reports to you</caption>
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col" class="num">
                Wallet
              </th>
              <th scope="col" class="num">
                Held
              </th>
              <th scope="col" class="num">
                Received this month
              </th>
              <th scope="col" class="num">
                Used this month
              </th>
              <th scope="col" class="num">
                Money this month
              </th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {props.reports.map((report) => (
              <tr key={report.member.id.toString()}>
                <th scope="row">{report.member.displayName}</th>
                <td class="num">{formatTokens(report.balance)}</td>
                <td class="num">{formatTokens(report.held)}</td>
                <td class="num">{formatTokens(report.receivedThisMonth)}</td>
                <td class="num">{formatTokens(report.usageThisMonth?.tokens ?? 0n)}</td>
                <td class="num">{formatMoney(report.usageThisMonth?.costMicros ?? 0n)}</td>
                <td>{report.state === 'ok' ? '' : <span class="badge warn">{stateText[report.state]}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function teamPage(input: { viewer: FrameViewer; data: TeamPageData; notice?: NoticeInput }) {
  const { data } = input;
  return (
    <Page title="My team" viewer={input.viewer} section="team" charts>
      <NoticeLines notice={input.notice} />
      <PendingSection pending={data.pending} csrfToken={input.viewer.csrfToken} timeZone={data.timeZone} />
      <ReportsSection reports={data.reports} />
      <section aria-labelledby="team-usage">
        <h2 id="team-usage">Your reports’ usage by model</h2>
        <WindowSwitcher days={data.days} href={(days) => `/dashboard/team?days=${days}`} />
        <UsageChart
          id="team-usage-chart"
          title={`Tokens per day, last ${data.days} days`}
          history={data.history}
          metric="tokens"
        />
      </section>
    </Page>
  );
}
