import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { operatorActor } from '../lib/context';
import { type ImportFailure, importUsageCsv } from '../usage/import.usecases';
import { formatPricePerMillion, formatWeight, priceHelp, weightHelp } from '../usage/pricing.models';
import { usageFailureReplies } from '../usage/usage.replies';
import {
  createApiKey,
  listApiKeys,
  listPrices,
  listWeights,
  revokeApiKey,
  setPrice,
  setWeight,
} from '../usage/usage.usecases';
import { CliError, requireDate, requireOrganisation, withCliContext } from './cli-context';
import { formatTable, formatTokens } from './cli-format';

/** The chat replies say what to type in chat; at the CLI a few say it the CLI's way. */
const cliFailureLines: Record<string, string> = {
  key_not_found: 'No live key has that name; allot apikey list <org> shows them.',
  name_invalid: 'Name the key with letters, digits, . _ or - (up to 63), like: allot apikey create acme ci-gateway',
};

function failed(failure: string, fallback?: string): never {
  throw new CliError(cliFailureLines[failure] ?? usageFailureReplies[failure] ?? fallback ?? `Refused: ${failure}.`);
}

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

/** `allot apikey …`, `allot usage import`, `allot price …` and `allot weight …`. */
export function registerUsageCommands(program: Command): void {
  const apikey = program.command('apikey').description('API keys for POST /v1/usage');

  apikey
    .command('create <org> <name>')
    .description('create a key; it is printed once and stored only as a hash')
    .action(async (slug: string, name: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const created = await createApiKey(ctx, { orgId: organisation.id, actor: operatorActor, name });
        if (!created.ok) failed(created.failure);
        console.log(created.value.key);
        console.error(
          `API key "${created.value.apiKey.name}" created for ${organisation.slug}. Copy it now: it is not shown again.\n` +
            'Send usage with: curl -H "Authorization: Bearer <key>" -H "Content-Type: application/json" ' +
            '-d \'{"events":[…]}\' https://<allot-host>/v1/usage',
        );
      });
    });

  apikey
    .command('list <org>')
    .description('list keys by name and visible prefix (never the key)')
    .action(async (slug: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const listed = await listApiKeys(ctx, { orgId: organisation.id, actor: operatorActor });
        if (!listed.ok) failed(listed.failure);
        if (listed.value.length === 0) {
          console.log(`No API keys. Create one with: allot apikey create ${organisation.slug} <name>`);
          return;
        }
        console.log(
          formatTable(
            ['name', 'prefix', 'created', 'revoked'],
            listed.value.map((key) => [
              key.name,
              `${key.keyPrefix}…`,
              key.createdAt.toISOString().slice(0, 16).replace('T', ' '),
              key.revokedAt ? key.revokedAt.toISOString().slice(0, 16).replace('T', ' ') : '',
            ]),
          ),
        );
      });
    });

  apikey
    .command('revoke <org> <name>')
    .description('revoke a live key; requests with it get 401 from then on')
    .action(async (slug: string, name: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const revoked = await revokeApiKey(ctx, { orgId: organisation.id, actor: operatorActor, name });
        if (!revoked.ok) failed(revoked.failure);
        console.log(`API key "${revoked.value.name}" (${revoked.value.keyPrefix}…) revoked.`);
      });
    });

  const usage = program.command('usage').description('metered AI usage');

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
        const summary = result.value;
        console.log(
          `${formatTokens(BigInt(summary.rows))} rows: ${formatTokens(BigInt(summary.accepted))} accepted, ` +
            `${formatTokens(BigInt(summary.duplicate))} duplicate (already imported), ${formatTokens(BigInt(summary.rejected))} rejected.`,
        );
        if (summary.unpricedModels.length > 0) {
          console.log(
            `No price for: ${summary.unpricedModels.join(', ')} (costed at 0). Set one with: allot price set ${organisation.slug} <model> <input> <output> --from <date>`,
          );
        }
        for (const rejection of summary.rejections) {
          const where =
            rejection.lastLine > rejection.line
              ? `lines ${rejection.line}–${rejection.lastLine}`
              : `line ${rejection.line}`;
          console.log(
            `  ${where}${rejection.id ? ` (${rejection.id})` : ''}: ${rejection.reason}: ${rejection.message}`,
          );
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
      });
    });

  const price = program.command('price').description('model prices, per million tokens');

  price
    .command('set <org> <model> <input> <output>')
    .description('set a model price in money per million input and output tokens, e.g. price set acme gpt-4o 2.50 10')
    .option(
      '--from <date>',
      'in force from 2026-12-01 (midnight UTC) or 2026-12-01T09:00:00Z (default now); earlier events keep their price',
    )
    .action(async (slug: string, model: string, input: string, output: string, options: { from?: string }) => {
      const effectiveFrom = options.from === undefined ? undefined : requireDate(options.from, '--from');
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await setPrice(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          model,
          input,
          output,
          effectiveFrom,
        });
        if (!result.ok) failed(result.failure, priceHelp);
        const value = result.value;
        console.log(
          `${value.model}: $${formatPricePerMillion(value.inputMicrosPerMillion)} per million input tokens, ` +
            `$${formatPricePerMillion(value.outputMicrosPerMillion)} per million output tokens, from ${value.effectiveFrom.toISOString()}.`,
        );
      });
    });

  price
    .command('list <org>')
    .description("the organisation's prices, then the default (seed) prices of models it has not priced")
    .action(async (slug: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const listed = await listPrices(ctx, { orgId: organisation.id, actor: operatorActor });
        if (!listed.ok) failed(listed.failure);
        console.log(
          formatTable(
            ['model', 'from', 'input $/M', 'output $/M', 'source'],
            listed.value.map((row) => [
              row.model,
              row.source === 'seed' ? '' : row.effectiveFrom.toISOString().slice(0, 16).replace('T', ' '),
              formatPricePerMillion(row.inputMicrosPerMillion),
              formatPricePerMillion(row.outputMicrosPerMillion),
              row.source === 'seed' ? 'default' : 'set',
            ]),
          ),
        );
      });
    });

  const weight = program
    .command('weight')
    .description('value weights per task category (value = tokens × weight; default 1)');

  weight
    .command('list <org>')
    .description('the weights set for the organisation; every other category weighs 1')
    .action(async (slug: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const all = await listWeights(ctx, { orgId: organisation.id });
        if (all.length === 0) {
          console.log(
            `No weights set in ${organisation.slug}: every category weighs 1. Set one with: allot weight set ${organisation.slug} review 1.5`,
          );
          return;
        }
        console.log(
          formatTable(
            ['category', 'weight'],
            all.map((row) => [row.category, formatWeight(row.weightThousandths)]),
          ),
        );
        console.log('Every other category weighs 1.');
      });
    });

  weight
    .command('set <org> <category> <weight>')
    .description('set a category weight, e.g. weight set acme review 1.5')
    .action(async (slug: string, category: string, weightText: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await setWeight(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          category,
          weight: weightText,
        });
        if (!result.ok) failed(result.failure, weightHelp);
        console.log(`Weight of ${result.value.category} is now ${formatWeight(result.value.weightThousandths)}.`);
        const all = await listWeights(ctx, { orgId: organisation.id });
        console.log(
          `Weights: ${all.map((row) => `${row.category} ${formatWeight(row.weightThousandths)}`).join(', ')}; others 1.`,
        );
      });
    });
}
