import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { type ImportFailure, type ImportSummary, importUsageCsv } from '../../usage/import.usecases';
import { CliError, requireOrganisation, withCliContext } from '../cli-context';
import { formatTokens } from '../cli-format';

// `allot usage …`: metered AI usage, imported from CSV by the rules of POST /v1/usage.

const importHeader = 'id,time,user,model,input_tokens,output_tokens,category';

/** One line for an import that read nothing: what was wrong with the file, and what it should look like. */
function importFailureLine(failure: ImportFailure, detail: Record<string, unknown> | undefined): string {
  switch (failure) {
    case 'too_many_rows':
      return 'The file has more than 10,000,000 rows; split it and import the parts (re-importing a part is harmless).';
    case 'csv_empty':
      return `The file is empty. Its first line names the columns, like: ${importHeader}`;
    case 'csv_header_invalid': {
      const { unknown = [], missing = [], duplicate = [] } = (detail ?? {}) as Partial<Record<string, string[]>>;
      const problems = [
        unknown.length > 0 ? `unknown column${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}` : '',
        missing.length > 0 ? `missing column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}` : '',
        duplicate.length > 0 ? `repeated column${duplicate.length === 1 ? '' : 's'} ${duplicate.join(', ')}` : '',
      ].filter(Boolean);
      return `Nothing imported: the header (line 1) has ${problems.join('; ')}. The columns are: ${importHeader} (category optional; OpenTelemetry names also work).`;
    }
    case 'organisation_not_found':
      return 'That organisation no longer exists.';
    case 'csv_invalid': {
      const line = typeof detail?.line === 'number' ? ` at line ${detail.line}` : '';
      const why = typeof detail?.message === 'string' ? `: ${detail.message}` : '';
      return `The file is not a CSV I can read${line}${why}. Fix it and import the file again; rows already imported are not imported twice.`;
    }
  }
}

/** Registers `allot usage` and its commands, in the order `allot usage --help` lists them. */
export function registerUsageCommands(program: Command): void {
  const usage = program.command('usage').description('metered AI usage');
  registerUsageImport(usage);
}

/** `allot usage import <org> <file>`: a CSV of usage events, by the rules of POST /v1/usage, with a progress bar. */
function registerUsageImport(usage: Command): void {
  usage
    .command('import <org> <file>')
    .description(
      'import a CSV of usage events (header: id,time,user,model,input_tokens,output_tokens,category) ' +
        'with the same rules as POST /v1/usage; running it again imports nothing twice; exits 1 if any row is rejected',
    )
    .action(async (slug: string, file: string) => {
      const size = await stat(file).then(
        (info) => info.size,
        () => {
          throw new CliError(`Cannot read "${file}": give the path of a CSV file.`);
        },
      );
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const stream = createReadStream(file);
        let bytes = 0;
        const bar = new cliProgress.SingleBar(
          {
            format:
              'importing [{bar}] {percentage}% | {rows} rows | {accepted} accepted, {duplicate} duplicate, {rejected} rejected',
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(size, 1), 0, { rows: 0, accepted: 0, duplicate: 0, rejected: 0 });
        stream.on('data', (chunk) => {
          bytes += chunk.length;
        });
        const result = await importUsageCsv(ctx, {
          orgId: organisation.id,
          csv: stream,
          onProgress: (progress) => bar.update(Math.min(bytes, size), { ...progress }),
        });
        bar.update(size);
        bar.stop();
        if (!result.ok) throw new CliError(importFailureLine(result.failure, result.detail));
        reportImport(result.value, organisation.slug);
      });
    });
}

/**
 * Prints what an import did: the counts, models without a price, and the rejected rows (as many as the
 * summary keeps). Any rejected row ends the command with exit 1, after the others were imported.
 */
function reportImport(summary: ImportSummary, slug: string): void {
  console.log(
    `${formatTokens(BigInt(summary.rows))} rows: ${formatTokens(BigInt(summary.accepted))} accepted, ` +
      `${formatTokens(BigInt(summary.duplicate))} duplicate (already imported), ${formatTokens(BigInt(summary.rejected))} rejected.`,
  );
  if (summary.unpricedModels.length > 0) {
    console.log(
      `No price for: ${summary.unpricedModels.join(', ')} (costed at 0). Set one with: allot price set ${slug} <model> <input> <output> --from <date>`,
    );
  }
  for (const rejection of summary.rejections) {
    const where =
      rejection.lastLine > rejection.line ? `lines ${rejection.line}–${rejection.lastLine}` : `line ${rejection.line}`;
    console.log(`  ${where}${rejection.id ? ` (${rejection.id})` : ''}: ${rejection.reason}: ${rejection.message}`);
  }
  if (summary.rejected > summary.rejections.length) {
    console.log(`  … and ${summary.rejected - summary.rejections.length} more rejected rows.`);
  }
  if (summary.rejected > 0) {
    throw new CliError(
      `${formatTokens(BigInt(summary.rejected))} of ${formatTokens(BigInt(summary.rows))} rows were rejected (listed above); ` +
        'the others were imported. Fix those rows and import the file again: imported rows are not imported twice.',
    );
  }
}
