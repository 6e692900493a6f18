import type { Command } from 'commander';
import { operatorActor } from '../../lib/context';
import { listPrices, setPrice } from '../../usage/prices.usecases';
import { formatPricePerMillion, priceHelp } from '../../usage/pricing.models';
import { requireDate, requireOrganisation, withCliContext } from '../cli-context';
import { formatTable } from '../cli-format';
import { failed } from './usage-failures';

// `allot price …`: model prices per million tokens, dated so history keeps the price it was charged at.

/** Registers `allot price` and its commands, in the order `allot price --help` lists them. */
export function registerPriceCommands(program: Command): void {
  const price = program.command('price').description('model prices, per million tokens');
  registerPriceSet(price);
  registerPriceList(price);
}

/** `allot price set`: set a model price in money per million input and output tokens, e.g. price set acme gpt-4o 2.50 10. */
function registerPriceSet(price: Command): void {
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
}

/** `allot price list`: the organisation's prices, then the default (seed) prices of models it has not priced. */
function registerPriceList(price: Command): void {
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
}
