import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Ctx } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import { checkUsageColumns, eventsPerRequestMax, type RejectionReason } from './usage.models';
import { ingestUsage, type WalletDebit } from './usage.usecases';

/** Most rows one import reads; a larger export is split into several files. */
export const importRowsMax = 10_000_000;
/** Longest CSV record read (one event is far shorter). */
const importRecordBytesMax = 64 * 1024;
/** Rejections listed in the summary (all are counted). */
export const importRejectionsListedMax = 20;

export interface ImportProgress {
  rows: number;
  accepted: number;
  duplicate: number;
  rejected: number;
}

/** Why a row was not imported: an event rejection, or a row whose cells do not match the header. */
export type ImportRejectionReason = RejectionReason | 'wrong_cell_count';

export interface ImportRejection {
  /** Line of the file where the row starts (1 is the header); a quoted cell with a newline spans lines. */
  line: number;
  /** Its last line, when the row spans several. */
  lastLine: number;
  id: string | null;
  reason: ImportRejectionReason;
  message: string;
}

export interface ImportSummary extends ImportProgress {
  /** The first rejections by line (all are counted in `rejected`). */
  rejections: ImportRejection[];
  unpricedModels: string[];
  debits: WalletDebit[];
}

export type ImportFailure =
  | 'csv_invalid'
  | 'csv_empty'
  | 'csv_header_invalid'
  | 'too_many_rows'
  | 'organisation_not_found';

/** What csv-parse's info tells about a record: how many empty lines it has skipped so far. */
interface RecordInfo {
  empty_lines: number;
}

const lineBreak = /\r\n|\r|\n/g;

/** What an import has counted so far, and the batch of events being filled. */
class ImportTally {
  readonly summary: ImportSummary = {
    rows: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    rejections: [],
    unpricedModels: [],
    debits: [],
  };
  private readonly unpriced = new Set<string>();
  private readonly debits = new Map<bigint, WalletDebit>();
  private batch: Record<string, string>[] = [];
  private batchLines: { line: number; lastLine: number }[] = [];

  reject(rejection: ImportRejection): void {
    this.summary.rejected += 1;
    // Kept sorted by line and bounded: rows rejected by cell count are known before their batch's events.
    const list = this.summary.rejections;
    if (list.length >= importRejectionsListedMax && rejection.line > list[list.length - 1]!.line) return;
    list.push(rejection);
    list.sort((a, b) => a.line - b.line);
    if (list.length > importRejectionsListedMax) list.pop();
  }

  /** Adds an event to the batch; true when the batch is full and should be flushed. */
  add(event: Record<string, string>, lines: { line: number; lastLine: number }): boolean {
    this.batch.push(event);
    this.batchLines.push(lines);
    return this.batch.length >= eventsPerRequestMax;
  }

  /** Ingests the batch through the same verb as POST /v1/usage; a failure of the whole batch is returned. */
  async flush(ctx: Ctx, orgId: bigint, onProgress?: (progress: ImportProgress) => void) {
    if (this.batch.length === 0) return undefined;
    const result = await ingestUsage(ctx, { orgId, events: this.batch, platform: 'cli' });
    if (!result.ok) return result.failure === 'organisation_not_found' ? 'organisation_not_found' : 'csv_invalid';
    const report = result.value;
    this.summary.accepted += report.accepted;
    this.summary.duplicate += report.duplicate;
    for (const item of report.results) {
      if (item.status === 'rejected') {
        this.reject({ ...this.batchLines[item.index]!, id: item.id, reason: item.reason, message: item.message });
      }
    }
    for (const model of report.unpricedModels) this.unpriced.add(model);
    for (const debit of report.debits) {
      const earlier = this.debits.get(debit.walletId);
      this.debits.set(
        debit.walletId,
        earlier ? { ...debit, before: earlier.before, debited: earlier.debited + debit.debited } : debit,
      );
    }
    this.batch = [];
    this.batchLines = [];
    const { rows, accepted, duplicate, rejected } = this.summary;
    onProgress?.({ rows, accepted, duplicate, rejected });
    return undefined;
  }

  finish(): ImportSummary {
    this.summary.unpricedModels = [...this.unpriced].sort();
    this.summary.debits = [...this.debits.values()];
    return this.summary;
  }
}

/** The rejection of a row whose cell count is not the header's, naming its id when it has one. */
function cellCountRejection(header: string[], record: string[], lines: { line: number; lastLine: number }) {
  const idAt = header.findIndex((name) => name === 'id' || name === 'event_id' || name === 'gen_ai.response.id');
  return {
    ...lines,
    id: (idAt >= 0 ? record[idAt] : undefined) || null,
    reason: 'wrong_cell_count' as const,
    message: `The row has ${record.length} cell${record.length === 1 ? '' : 's'} but the header names ${header.length} columns.`,
  };
}

/** A row as an event: the header's names for its cells, empty cells left out (absent). */
function eventOfRow(header: string[], record: string[]): Record<string, string> {
  const event: Record<string, string> = {};
  header.forEach((name, index) => {
    const value = record[index];
    if (value !== undefined && value !== '') event[name] = value;
  });
  return event;
}

/**
 * Imports a CSV export of usage through the same verb as POST /v1/usage, in batches of 1000 with
 * the same rules. The first line names the columns (`id,time,user,model,input_tokens,output_tokens,
 * category`, or the OpenTelemetry names) and is checked before any row: an unknown, missing or repeated
 * column refuses the file (`csv_header_invalid`, detail `{ unknown, missing, duplicate }`), and so does
 * a file with no header at all (`csv_empty`). Each row is one event; a row with more or fewer cells
 * than the header is rejected (`wrong_cell_count`) and the others go on; empty cells count as absent.
 * Rows are named by the line of the file they start on. Batches already imported are duplicates, so an
 * interrupted import can simply be run again.
 */
export async function importUsageCsv(
  ctx: Ctx,
  input: { orgId: bigint; csv: Readable; onProgress?: (progress: ImportProgress) => void },
): Promise<Result<ImportSummary, ImportFailure>> {
  const tally = new ImportTally();
  const parser = input.csv.pipe(
    parse({
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
      max_record_size: importRecordBytesMax,
      info: true,
    }),
  );
  let header: string[] | undefined;
  // Lines are counted here rather than read from csv-parse's info.lines, which counts a CRLF inside a
  // quoted cell as two lines (csv-parse 7.0.3): a record starts after the previous one and the empty
  // lines skipped between them, and spans one more line per line break inside its (quoted) cells.
  let lastLine = 0;
  let emptyLines = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: RecordInfo }>) {
      const line = lastLine + 1 + (info.empty_lines - emptyLines);
      lastLine = line + record.reduce((breaks, cell) => breaks + (cell.match(lineBreak)?.length ?? 0), 0);
      emptyLines = info.empty_lines;
      const lines = { line, lastLine };
      if (!header) {
        header = record.map((name) => name.trim());
        const problem = checkUsageColumns(header);
        if (problem) return fail('csv_header_invalid', { ...problem });
        continue;
      }
      tally.summary.rows += 1;
      if (tally.summary.rows > importRowsMax) return fail('too_many_rows', { max: importRowsMax });
      if (record.length !== header.length) {
        tally.reject(cellCountRejection(header, record, lines));
        continue;
      }
      if (tally.add(eventOfRow(header, record), lines)) {
        const failure = await tally.flush(ctx, input.orgId, input.onProgress);
        if (failure) return fail(failure);
      }
    }
  } catch (error) {
    // csv-parse says where it stopped; records it had read may not have reached this loop yet.
    const stoppedAt = (error as { lines?: unknown }).lines;
    return fail('csv_invalid', {
      message: error instanceof Error ? error.message : String(error),
      line: typeof stoppedAt === 'number' ? stoppedAt : lastLine + 1,
    });
  }
  if (!header) return fail('csv_empty');
  const failure = await tally.flush(ctx, input.orgId, input.onProgress);
  if (failure) return fail(failure);
  return ok(tally.finish());
}
