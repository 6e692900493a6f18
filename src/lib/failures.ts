// The details a failure carries, per failure code: one home, so `fail(code, detail)` is checked where
// a verb refuses and every reader (chat replies, the CLI, the HTTP API) reads typed fields, no casts.
// A code not listed here carries no details. A code whose details name a domain type is declared beside
// that type, by augmenting this interface (`declare module '../lib/failures'`), so src/lib imports nothing.

/** Failure code → the shape of its `detail`. Add an entry when a verb starts to say more about a refusal. */
export interface FailureDetails {
  // ledger
  too_many_recipients: { max: number };
  recipient_not_found: { memberId: bigint };
  recipient_is_bot: { memberId: bigint; name: string };
  recipient_inactive: { memberId: bigint; name: string };
  /** A grant gives `total`; an approval `amount`. `budget` is what the budget held, when it was read. */
  exceeds_budget: { budget: bigint | null | undefined; total?: bigint; amount?: bigint };
  exceeds_balance: { accountId: bigint | null };
  /** The last valid day asked for (`YYYY-MM-DD`, the recipient's zone) and a later day to suggest instead. */
  expiry_past: { day: string; example: string };
  /** The last valid day asked for, and the latest allowed (five years from today), both `YYYY-MM-DD`. */
  expiry_too_far: { day: string; latest: string };
  // members
  workspace_taken: { slug: string | undefined };
  budget_not_empty: { budget: bigint };
  // approvals (the request_* codes, whose details carry a request, are declared in approvals.repository.ts)
  too_many_pending: { max: number };
  not_the_approver: { approverId: bigint | null };
  // usage
  too_many_events: { max: number; got: number };
  window_invalid: { windows: readonly string[] };
  top_invalid: { max: number };
  /** The header's problems (usage.models.ts UsageColumnsProblem). */
  csv_header_invalid: { unknown: string[]; missing: string[]; duplicate: string[] };
  too_many_rows: { max: number };
  csv_invalid: { message: string; line: number };
  // digest
  cron_invalid: { problems: string[]; example: string };
  time_zone_invalid: { example: string };
  // database
  data_dir_in_use: { pid: number | undefined };
  database_not_empty: { organisations: number };
}

/** The detail type of a failure code (`never` for a code that carries none). */
export type DetailOf<F extends string> = F extends keyof FailureDetails ? FailureDetails[F] : never;
