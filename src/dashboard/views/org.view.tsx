import type { BudgetRow } from '../../ledger/budgets.repository';
import type { Result } from '../../lib/result';
import type { Leaderboard, LeaderboardFailure } from '../../usage/leaderboard.usecases';
import { leaderboardWindows } from '../../usage/usage.tables';
import type { HistoryWindowDays, UsageHistory } from '../../usage/usage-history.models';
import type { UsageDimension } from '../../usage/usage-history.repository';
import { Switcher, UsageChart, UsageTotalsTable, WindowSwitcher } from './components';
import { formatMoney, formatTokens } from './format.models';
import { type FrameViewer, Page } from './layout';

// The organisation page: usage and money over time (by model or by category), the leaderboard with the
// organisation's privacy settings applied, budgets by manager, and the CSV exports.

export interface OrgPageData {
  history: UsageHistory;
  days: HistoryWindowDays;
  by: UsageDimension;
  leaderboard: Result<Leaderboard, LeaderboardFailure>;
  budgets: BudgetRow[];
  timeZone: string;
}

function href(data: OrgPageData, change: { days?: HistoryWindowDays; by?: UsageDimension; board?: string }): string {
  const board = change.board ?? (data.leaderboard.ok ? data.leaderboard.value.window : undefined);
  const query = new URLSearchParams({ days: String(change.days ?? data.days), by: change.by ?? data.by });
  if (board) query.set('board', board);
  return `/dashboard/org?${query}`;
}

function UsageSection(props: { data: OrgPageData }) {
  const { data } = props;
  const { history } = data;
  const what = data.by === 'model' ? 'model' : 'category';
  return (
    <section aria-labelledby="usage">
      <h2 id="usage">Usage and money over time</h2>
      <WindowSwitcher days={data.days} href={(days) => href(data, { days })} />
      <Switcher
        label="By"
        current={data.by}
        options={[
          { value: 'model' as const, text: 'Model', href: href(data, { by: 'model' }) },
          { value: 'category' as const, text: 'Category', href: href(data, { by: 'category' }) },
        ]}
      />
      <UsageChart
        id="org-tokens"
        title={`Tokens per day by ${what}, last ${data.days} days`}
        history={history}
        metric="tokens"
      />
      <UsageChart
        id="org-money"
        title={`Money per day by ${what}, last ${data.days} days`}
        history={history}
        metric="money"
      />
      <UsageTotalsTable
        caption={`Totals by ${what}, last ${data.days} days`}
        keyHeader={data.by === 'model' ? 'Model' : 'Category'}
        allLabel="All"
        history={history}
        withValue
      />
    </section>
  );
}

function LeaderboardSection(props: { data: OrgPageData }) {
  const { data } = props;
  const board = data.leaderboard;
  return (
    <section aria-labelledby="leaderboard">
      <h2 id="leaderboard">Leaderboard</h2>
      {board.ok ? (
        <>
          <Switcher
            label="Period"
            current={board.value.window}
            options={leaderboardWindows.map((window) => ({
              value: window,
              text: `This ${window}`,
              href: href(data, { board: window }),
            }))}
          />
          <LeaderboardTable board={board.value} />
        </>
      ) : (
        <p class="empty">
          {board.failure === 'leaderboard_disabled'
            ? 'The leaderboard is off for this organisation. An admin turns it on with /tokens leaderboard on.'
            : 'The leaderboard cannot be shown.'}
        </p>
      )}
    </section>
  );
}

function LeaderboardTable(props: { board: Leaderboard }) {
  const { board } = props;
  if (board.entries.length === 0) return <p class="empty">Nobody has used AI this {board.window} yet.</p>;
  return (
    <table>
      <caption>
        Top {board.topN} by value-weighted tokens, {board.period.start} to {board.period.end} ({board.timeZone});{' '}
        {board.ranked} ranked. People who opted out are not shown
        {board.hideMoney ? '; money is hidden by the organisation’s setting' : ''}.
      </caption>
      <thead>
        <tr>
          <th scope="col" class="num">
            Rank
          </th>
          <th scope="col">Person</th>
          <th scope="col" class="num">
            Value-weighted tokens
          </th>
          <th scope="col" class="num">
            Tokens
          </th>
          {board.hideMoney ? null : (
            <th scope="col" class="num">
              Money
            </th>
          )}
          {board.hideMoney ? null : (
            <th scope="col" class="num">
              Value per dollar
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {board.entries.map((entry) => (
          <tr key={entry.memberId.toString()}>
            <td class="num">{entry.rank}</td>
            <th scope="row">{entry.displayName}</th>
            <td class="num">{formatTokens(entry.value)}</td>
            <td class="num">{formatTokens(entry.tokens)}</td>
            {board.hideMoney ? null : (
              <td class="num">{entry.costMicros === null ? '' : formatMoney(entry.costMicros)}</td>
            )}
            {board.hideMoney ? null : (
              <td class="num">{entry.valuePerMoney === null ? '' : formatTokens(entry.valuePerMoney)}</td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BudgetsSection(props: { budgets: BudgetRow[] }) {
  return (
    <section aria-labelledby="budgets">
      <h2 id="budgets">Budgets by manager</h2>
      {props.budgets.length === 0 ? (
        <p class="empty">No managers yet. Make one with /tokens role @person manager.</p>
      ) : (
        <table>
          <caption>Each manager’s budget, largest first; granted and topped up since the start of this month</caption>
          <thead>
            <tr>
              <th scope="col">Manager</th>
              <th scope="col">Role</th>
              <th scope="col" class="num">
                Budget
              </th>
              <th scope="col" class="num">
                Reports
              </th>
              <th scope="col" class="num">
                Granted this month
              </th>
              <th scope="col" class="num">
                Top-ups this month
              </th>
            </tr>
          </thead>
          <tbody>
            {props.budgets.map((row) => (
              <tr key={row.memberId.toString()}>
                <th scope="row">
                  {row.displayName}
                  {row.isActive ? '' : ' (deactivated)'}
                </th>
                <td>{row.role}</td>
                <td class="num">{formatTokens(row.budget)}</td>
                <td class="num">{row.reports}</td>
                <td class="num">{formatTokens(row.grantedSince)}</td>
                <td class="num">{formatTokens(row.toppedUpSince)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A GET form for one CSV export: from and to dates in the organisation's time zone. */
function ExportForm(props: { action: string; label: string; timeZone: string }) {
  const id = props.action.replace(/\W/g, '-');
  return (
    <form method="get" action={props.action} class="row">
      <label for={`${id}-from`}>
        From <span class="hint">(included, {props.timeZone})</span>
        <input id={`${id}-from`} type="date" name="from" />
      </label>
      <label for={`${id}-to`}>
        To <span class="hint">(not included)</span>
        <input id={`${id}-to`} type="date" name="to" />
      </label>
      <button type="submit">{props.label}</button>
    </form>
  );
}

export function orgPage(input: { viewer: FrameViewer; data: OrgPageData }) {
  const { data } = input;
  return (
    <Page title="Organisation" viewer={input.viewer} section="org" charts>
      <UsageSection data={data} />
      <LeaderboardSection data={data} />
      <BudgetsSection budgets={data.budgets} />
      <section aria-labelledby="exports">
        <h2 id="exports">Exports for finance (CSV)</h2>
        <p>
          Leave the dates empty for everything. Text a spreadsheet would run as a formula starts with an apostrophe.
        </p>
        <ExportForm action="/dashboard/org/export/transfers.csv" label="Export transfers" timeZone={data.timeZone} />
        <ExportForm action="/dashboard/org/export/usage.csv" label="Export usage" timeZone={data.timeZone} />
      </section>
    </Page>
  );
}
