import type { Command } from 'commander';
import { operatorActor } from '../../lib/context';
import { listWeights, setWeight } from '../../usage/prices.usecases';
import { formatWeight, weightHelp } from '../../usage/pricing.models';
import { requireOrganisation, withCliContext } from '../cli-context';
import { formatTable } from '../cli-format';
import { failed } from './usage-failures';

// `allot weight …`: value weights per task category (value = tokens × weight).

/** Registers `allot weight` and its commands, in the order `allot weight --help` lists them. */
export function registerWeightCommands(program: Command): void {
  const weight = program
    .command('weight')
    .description('value weights per task category (value = tokens × weight; default 1)');
  registerWeightList(weight);
  registerWeightSet(weight);
}

/** `allot weight list`: the weights set for the organisation; every other category weighs 1. */
function registerWeightList(weight: Command): void {
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
}

/** `allot weight set`: set a category weight, e.g. weight set acme review 1.5. */
function registerWeightSet(weight: Command): void {
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
