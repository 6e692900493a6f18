import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Ctx } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import { eventsPerRequestMax, type RejectionReason } from './usage.models';
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

export interface ImportSummary extends ImportProgress {
  /** The first rejections, with their data row (1 is the first row after the header). */
  rejections: { row: number; id: string | null; reason: RejectionReason; message: string }[];
  unpricedModels: string[];
  debits: WalletDebit[];
}

export type ImportFailure = 'csv_invalid' | 'too_many_rows' | 'organisation_not_found';

/**
 * Imports a CSV export of usage through the same verb as POST /v1/usage, in batches of 1000 with
 * the same rules: a header row names the columns (`id,time,user,model,input_tokens,output_tokens,
 * category`, or the OpenTelemetry names), each row is one event, empty cells count as absent.
 * Batches already imported are duplicates, so an interrupted import can simply be run again.
 */
export async function importUsageCsv(
  ctx: Ctx,
  input: { orgId: bigint; csv: Readable; onProgress?: (progress: ImportProgress) => void },
): Promise<Result<ImportSummary, ImportFailure>> {
  const summary: ImportSummary = {
    rows: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    rejections: [],
    unpricedModels: [],
    debits: [],
  };
  const unpriced = new Set<string>();
  const debits = new Map<bigint, WalletDebit>();
  let batch: Record<string, string>[] = [];
  let firstRow = 1;

  const flush = async (): Promise<ImportFailure | undefined> => {
    if (batch.length === 0) return undefined;
    const result = await ingestUsage(ctx, { orgId: input.orgId, events: batch, platform: 'cli' });
    if (!result.ok) return result.failure === 'organisation_not_found' ? 'organisation_not_found' : 'csv_invalid';
    const report = result.value;
    summary.accepted += report.accepted;
    summary.duplicate += report.duplicate;
    summary.rejected += report.rejected;
    for (const item of report.results) {
      if (item.status === 'rejected' && summary.rejections.length < importRejectionsListedMax) {
        summary.rejections.push({
          row: firstRow + item.index,
          id: item.id,
          reason: item.reason,
          message: item.message,
        });
      }
    }
    for (const model of report.unpricedModels) unpriced.add(model);
    for (const debit of report.debits) {
      const earlier = debits.get(debit.walletId);
      debits.set(
        debit.walletId,
        earlier ? { ...debit, before: earlier.before, debited: earlier.debited + debit.debited } : debit,
      );
    }
    firstRow += batch.length;
    batch = [];
    input.onProgress?.({
      rows: summary.rows,
      accepted: summary.accepted,
      duplicate: summary.duplicate,
      rejected: summary.rejected,
    });
    return undefined;
  };

  const parser = input.csv.pipe(
    parse({
      columns: (header: string[]) => header.map((name) => name.trim()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
      max_record_size: importRecordBytesMax,
    }),
  );
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      summary.rows += 1;
      if (summary.rows > importRowsMax) return fail('too_many_rows', { max: importRowsMax });
      batch.push(Object.fromEntries(Object.entries(record).filter(([, value]) => value !== '' && value !== undefined)));
      if (batch.length >= eventsPerRequestMax) {
        const failure = await flush();
        if (failure) return fail(failure);
      }
    }
  } catch (error) {
    return fail('csv_invalid', { message: error instanceof Error ? error.message : String(error), row: firstRow });
  }
  const failure = await flush();
  if (failure) return fail(failure);
  summary.unpricedModels = [...unpriced].sort();
  summary.debits = [...debits.values()];
  return ok(summary);
}
