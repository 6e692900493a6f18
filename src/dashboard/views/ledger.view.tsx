import type { Transfer } from '../../ledger/ledger.repository';
import { transferCodes } from '../../ledger/ledger.tables';
import { NoticeLines } from './components';
import { formatLocalTime, formatTokens } from './format.models';
import { CsrfField, type FrameViewer, Page } from './layout';

// The ledger page (filters, a page of transfers, paging) and the reversal's confirmation page.

export interface LedgerFilters {
  /** An email or a member id, as typed. */
  member: string;
  code: string | undefined;
  /** Dates as typed (YYYY-MM-DD), read in the organisation's time zone. */
  from: string;
  to: string;
  /** Page back: only transfers older than this id. */
  before: bigint | undefined;
}

export interface LedgerRow {
  transfer: Transfer;
  from: string;
  to: string;
  actor: string;
  /** The reversal of this transfer, if it was reversed. */
  reversedBy: bigint | undefined;
}

export interface LedgerPageData {
  filters: LedgerFilters;
  rows: LedgerRow[];
  timeZone: string;
  pageSize: number;
  /** Why the filters could not be applied (a date or member that cannot be read). */
  problem?: string;
}

function pageHref(filters: LedgerFilters, before: bigint | undefined): string {
  const query = new URLSearchParams();
  if (filters.member) query.set('member', filters.member);
  if (filters.code) query.set('code', filters.code);
  if (filters.from) query.set('from', filters.from);
  if (filters.to) query.set('to', filters.to);
  if (before !== undefined) query.set('before', before.toString());
  const text = query.toString();
  return text ? `/dashboard/org/ledger?${text}` : '/dashboard/org/ledger';
}

function FiltersForm(props: { filters: LedgerFilters; timeZone: string }) {
  const { filters } = props;
  return (
    <form method="get" action="/dashboard/org/ledger" class="row" aria-label="Filter the ledger">
      <label for="member">
        Member <span class="hint">(email or id)</span>
        <input id="member" type="text" name="member" value={filters.member} />
      </label>
      <label for="code">
        Code
        <select id="code" name="code">
          <option value="">any</option>
          {transferCodes.map((code) => (
            <option key={code} value={code} selected={code === filters.code}>
              {code}
            </option>
          ))}
        </select>
      </label>
      <label for="from">
        From <span class="hint">({props.timeZone})</span>
        <input id="from" type="date" name="from" value={filters.from} />
      </label>
      <label for="to">
        To <span class="hint">(not included)</span>
        <input id="to" type="date" name="to" value={filters.to} />
      </label>
      <button type="submit">Apply</button>
      <a href="/dashboard/org/ledger">Clear</a>
    </form>
  );
}

function codeText(transfer: Transfer): string {
  return transfer.reversesTransferId === null ? transfer.code : `reversal of #${transfer.reversesTransferId}`;
}

function TransfersTable(props: { rows: LedgerRow[]; timeZone: string }) {
  return (
    <table>
      <caption>Transfers, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Transfer</th>
          <th scope="col">When ({props.timeZone})</th>
          <th scope="col">Code</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col" class="num">
            Tokens
          </th>
          <th scope="col">By</th>
          <th scope="col">Memo</th>
          <th scope="col">Reversal</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => {
          const { transfer } = row;
          const id = transfer.id.toString();
          return (
            <tr key={id}>
              <td>#{id}</td>
              <td>{formatLocalTime(transfer.createdAt, props.timeZone)}</td>
              <td>{codeText(transfer)}</td>
              <td>{row.from}</td>
              <td>{row.to}</td>
              <td class="num">{formatTokens(transfer.amount)}</td>
              <td>{row.actor}</td>
              <td class="memo">{transfer.memo}</td>
              <td>
                {row.reversedBy !== undefined ? (
                  `reversed by #${row.reversedBy}`
                ) : transfer.code === 'reversal' ? (
                  ''
                ) : (
                  <a href={`/dashboard/org/ledger/${id}/reverse`} aria-label={`Reverse transfer ${id}`}>
                    Reverse…
                  </a>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ledgerPage(input: { viewer: FrameViewer; data: LedgerPageData; reversal?: bigint }) {
  const { data } = input;
  const last = data.rows[data.rows.length - 1];
  return (
    <Page title="Ledger" viewer={input.viewer} section="ledger">
      <NoticeLines
        notice={
          data.problem
            ? { kind: 'problem', lines: [data.problem] }
            : input.reversal
              ? { kind: 'ok', lines: [`The transfer was reversed by transfer #${input.reversal}.`] }
              : undefined
        }
      />
      <FiltersForm filters={data.filters} timeZone={data.timeZone} />
      {data.rows.length === 0 ? (
        <p class="empty">No transfers match.</p>
      ) : (
        <TransfersTable rows={data.rows} timeZone={data.timeZone} />
      )}
      <nav class="pager" aria-label="Pages">
        {data.filters.before !== undefined ? <a href={pageHref(data.filters, undefined)}>Newest</a> : null}
        {last && data.rows.length === data.pageSize ? (
          <a href={pageHref(data.filters, last.transfer.id)}>Older</a>
        ) : null}
      </nav>
    </Page>
  );
}

/** "Reverse transfer #…?": what it moved and what the reversal will move back, with a memo and Confirm. */
export function reverseConfirmPage(input: {
  viewer: FrameViewer;
  row: LedgerRow;
  timeZone: string;
  idempotencyKey: string;
  problem?: string;
}) {
  const { row } = input;
  const { transfer } = row;
  const id = transfer.id.toString();
  const blocked =
    row.reversedBy !== undefined
      ? `This transfer was already reversed by transfer #${row.reversedBy}.`
      : transfer.code === 'reversal'
        ? 'This transfer is a reversal; a reversal cannot itself be reversed.'
        : undefined;
  return (
    <Page title={`Reverse transfer #${id}?`} viewer={input.viewer} section="ledger">
      <NoticeLines notice={input.problem ? { kind: 'problem', lines: [input.problem] } : undefined} />
      <dl class="figures">
        <div>
          <dt>Moved</dt>
          <dd>{formatTokens(transfer.amount)} tokens</dd>
        </div>
        <div>
          <dt>From</dt>
          <dd>{row.from}</dd>
        </div>
        <div>
          <dt>To</dt>
          <dd>{row.to}</dd>
        </div>
        <div>
          <dt>Code</dt>
          <dd>{codeText(transfer)}</dd>
        </div>
        <div>
          <dt>When ({input.timeZone})</dt>
          <dd>{formatLocalTime(transfer.createdAt, input.timeZone)}</dd>
        </div>
        <div>
          <dt>By</dt>
          <dd>{row.actor}</dd>
        </div>
      </dl>
      <p class="memo">Memo: {transfer.memo || '(none)'}</p>
      {blocked ? (
        <p>{blocked}</p>
      ) : (
        <form method="post" action={`/dashboard/org/ledger/${id}/reverse`} class="stack">
          <p>
            A reversal is a new transfer of {formatTokens(transfer.amount)} tokens from {row.to} back to {row.from}. The
            original stays in the ledger; a transfer is reversed at most once.
          </p>
          <CsrfField token={input.viewer.csrfToken} />
          <input type="hidden" name="key" value={input.idempotencyKey} />
          <label for="memo">
            Why <span class="hint">(kept with the reversal)</span>
            <input id="memo" type="text" name="memo" maxLength={500} />
          </label>
          <p>
            <button type="submit" class="danger">
              Reverse transfer #{id}
            </button>{' '}
            <a href="/dashboard/org/ledger">Cancel</a>
          </p>
        </form>
      )}
    </Page>
  );
}
