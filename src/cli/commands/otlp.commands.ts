import type { Command } from 'commander';
import { operatorActor } from '../../lib/context';
import { listOperationCategories, removeOperationCategory, setOperationCategory } from '../../usage/otlp.usecases';
import { defaultCategory } from '../../usage/usage.models';
import { requireOrganisation, withCliContext } from '../cli-context';
import { formatTable } from '../cli-format';
import { failed } from './usage-failures';

// `allot otlp …`: how spans sent to POST /v1/traces are counted. For now, the category each GenAI
// operation (gen_ai.operation.name) counts under when a span carries no allot.category.

/** Registers `allot otlp category` and its commands, in the order `allot otlp category --help` lists them. */
export function registerOtlpCommands(program: Command): void {
  const category = program
    .command('otlp')
    .description('spans sent to POST /v1/traces (OpenTelemetry)')
    .command('category')
    .description(
      `the category of each GenAI operation (gen_ai.operation.name) without allot.category; else ${defaultCategory}`,
    );
  registerCategoryList(category);
  registerCategorySet(category);
  registerCategoryRemove(category);
}

/** `allot otlp category list`: the operations given a category. */
function registerCategoryList(category: Command): void {
  category
    .command('list <org>')
    .description('the operations given a category; every other one counts under the default')
    .action(async (slug: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const rows = await listOperationCategories(ctx, { orgId: organisation.id });
        if (rows.length === 0) {
          console.log(
            `No operation has a category in ${organisation.slug}: spans without allot.category count under ${defaultCategory}. Set one with: allot otlp category set ${organisation.slug} chat assistant`,
          );
          return;
        }
        console.log(
          formatTable(
            ['operation', 'category'],
            rows.map((row) => [row.operation, row.category]),
          ),
        );
        console.log(`Every other operation counts under ${defaultCategory}.`);
      });
    });
}

/** `allot otlp category set`: e.g. otlp category set acme execute_tool agents. */
function registerCategorySet(category: Command): void {
  category
    .command('set <org> <operation> <category>')
    .description('count spans of a GenAI operation under a category, e.g. otlp category set acme chat assistant')
    .action(async (slug: string, operation: string, categoryName: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await setOperationCategory(ctx, {
          orgId: organisation.id,
          actor: operatorActor,
          operation,
          category: categoryName,
        });
        if (!result.ok) failed(result.failure);
        console.log(
          `Spans of ${result.value.operation} without allot.category now count under ${result.value.category}, from the next export on.`,
        );
      });
    });
}

/** `allot otlp category remove`: the operation counts under the default category again. */
function registerCategoryRemove(category: Command): void {
  category
    .command('remove <org> <operation>')
    .description(`spans of the operation count under ${defaultCategory} again`)
    .action(async (slug: string, operation: string) => {
      await withCliContext(async (ctx) => {
        const organisation = await requireOrganisation(ctx, slug);
        const result = await removeOperationCategory(ctx, { orgId: organisation.id, actor: operatorActor, operation });
        if (!result.ok) failed(result.failure);
        console.log(`Spans of ${result.value.operation} without allot.category count under ${defaultCategory} again.`);
      });
    });
}
