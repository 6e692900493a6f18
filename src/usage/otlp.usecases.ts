import type { Actor, Ctx, Platform } from '../lib/context';
import { fail, ok, type Result } from '../lib/result';
import * as membersRepo from '../members/members.repository';
import { isAdminActor } from '../members/members.usecases';
import { settleReservation } from '../reservations/reservations.usecases';
import {
  needsOperationCategories,
  normaliseOperation,
  operationCategoriesMax,
  type SpanEvent,
  type SpansOutcome,
  settleRejection,
  spanRejectionHints,
  spansPerRequestMax,
  tracesUsage,
} from './otlp.models';
import * as otlpRepo from './otlp.repository';
import type { OtlpTraces } from './otlp-wire.models';
import { isValidCategory, type RejectionReason } from './usage.models';
import { ingestUsage, type WalletDebit } from './usage.usecases';

// OTLP ingestion (POST /v1/traces): every GenAI span of an export becomes one usage event through
// ingestUsage, the verb /v1/usage uses, or settles the reservation it names; and the admin's mapping of
// GenAI operations to categories.

declare module '../lib/failures' {
  interface FailureDetails {
    too_many_spans: { max: number; got: number };
  }
}

/** What became of an export's spans, with what the low-balance alerts need. */
export interface TracesReport extends SpansOutcome {
  debits: WalletDebit[];
  /** Models of accepted spans that had no price at their time (costed at 0). */
  unpricedModels: string[];
}

export type TracesFailure = 'too_many_spans' | 'organisation_not_found';

/** One rejected span, kept with its place in the request so the answer names them in order. */
interface Rejection {
  order: number;
  span: string;
  message: string;
}

/**
 * Records the GenAI usage of one OTLP export (at most `spansPerRequestMax` spans, GenAI or not) for an
 * organisation. Spans without GenAI usage are ignored (counted). The usage spans are ingested as one
 * batch of /v1/usage events (one transaction; a re-exported span is a duplicate by its id, trace id +
 * span id); a span with `allot.reservation_id` settles that reservation instead, as
 * `POST /v1/reservations/{id}/settle` does. Each refused span is reported with what to fix; the others
 * are kept. The category of a span without `allot.category` comes from the admin's mapping of its
 * `gen_ai.operation.name` (setOperationCategory).
 */
export async function ingestTraces(
  ctx: Ctx,
  input: { orgId: bigint; traces: OtlpTraces; platform?: Platform },
): Promise<Result<TracesReport, TracesFailure>> {
  if (input.traces.spanCount > spansPerRequestMax) {
    return fail('too_many_spans', { max: spansPerRequestMax, got: input.traces.spanCount });
  }
  const mappings = needsOperationCategories(input.traces.resourceSpans)
    ? await otlpRepo.listOperationCategories(ctx.db.orm, input.orgId)
    : [];
  const usages = tracesUsage(input.traces.resourceSpans, new Map(mappings.map((m) => [m.operation, m.category])));
  const report: TracesReport = { accepted: 0, duplicate: 0, ignored: 0, rejected: [], debits: [], unpricedModels: [] };
  const rejections: Rejection[] = [];
  const events: { order: number; span: string; event: SpanEvent }[] = [];
  const settles: { order: number; span: string; reservationId: string; usage: Record<string, unknown> }[] = [];
  usages.forEach((usage, order) => {
    if (usage.kind === 'ignored') report.ignored++;
    else if (usage.kind === 'rejected') rejections.push({ order, span: usage.span, message: usage.message });
    else if (usage.kind === 'event') events.push({ order, span: usage.span, event: usage.event });
    else settles.push({ order, span: usage.span, reservationId: usage.reservationId, usage: usage.usage });
  });
  if (events.length > 0) {
    const ingested = await ingestUsage(ctx, {
      orgId: input.orgId,
      events: events.map((item) => item.event),
      platform: input.platform ?? 'api',
    });
    if (!ingested.ok) return fail('organisation_not_found');
    for (const result of ingested.value.results) {
      const item = events[result.index]!;
      if (result.status === 'accepted') report.accepted++;
      else if (result.status === 'duplicate') report.duplicate++;
      else rejections.push({ order: item.order, span: item.span, message: eventRejection(result.reason, item.event) });
    }
    report.debits.push(...ingested.value.debits);
    report.unpricedModels = ingested.value.unpricedModels;
  }
  for (const item of settles) {
    const rejection = await settleSpan(ctx, input, item, report);
    if (rejection !== undefined) rejections.push({ order: item.order, span: item.span, message: rejection });
  }
  report.rejected = rejections.sort((a, b) => a.order - b.order).map(({ span, message }) => ({ span, message }));
  return ok(report);
}

/** What to fix in a span whose usage event was refused; an unknown user is named. */
function eventRejection(reason: RejectionReason, event: SpanEvent): string {
  const hint = spanRejectionHints[reason];
  return reason === 'unknown_user' ? `${hint} (user ${JSON.stringify(event.user.slice(0, 100))})` : hint;
}

/**
 * Settles the reservation a span names with the span's usage (the reservation's member pays; the
 * settle's event has the reservation's time, so the same call settled over HTTP and exported as a span
 * is one event). Counts the outcome in `report`; returns what to fix when the span is refused.
 */
async function settleSpan(
  ctx: Ctx,
  input: { orgId: bigint; platform?: Platform },
  item: { reservationId: string; usage: Record<string, unknown> },
  report: TracesReport,
): Promise<string | undefined> {
  const { model, input_tokens, output_tokens, category } = item.usage;
  const settled = await settleReservation(ctx, {
    orgId: input.orgId,
    idempotencyKey: item.reservationId,
    platform: input.platform ?? 'api',
    usage: { model: typeof model === 'string' ? model : undefined, input_tokens, output_tokens, category },
  });
  if (settled.ok) {
    if (settled.value.replayed) report.duplicate++;
    else report.accepted++;
    if (settled.value.debit) report.debits.push(settled.value.debit);
    return undefined;
  }
  if (settled.failure === 'usage_rejected') {
    return settled.detail ? spanRejectionHints[settled.detail.reason] : spanRejectionHints.invalid_event;
  }
  return settleRejection(settled.failure, item.reservationId);
}

// ---------------------------------------------------------------------------------------------
// operation → category, set by admins

export type SetOperationCategoryFailure =
  | 'not_an_admin'
  | 'operation_invalid'
  | 'category_invalid'
  | 'too_many_operation_categories';

/**
 * Sets the category under which spans of a GenAI operation (`gen_ai.operation.name`, e.g. "chat",
 * "embeddings", "execute_tool") count when they carry no `allot.category`; from the next export on.
 */
export async function setOperationCategory(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; operation: string; category: string },
): Promise<Result<{ operation: string; category: string }, SetOperationCategoryFailure>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const operation = normaliseOperation(input.operation);
  if (!operation) return fail('operation_invalid');
  const category = input.category.trim().toLowerCase();
  if (!isValidCategory(category)) return fail('category_invalid');
  const existing = await otlpRepo.listOperationCategories(ctx.db.orm, input.orgId);
  if (existing.length >= operationCategoriesMax && !existing.some((row) => row.operation === operation)) {
    return fail('too_many_operation_categories');
  }
  const at = ctx.clock.now();
  await ctx.db.orm.transaction(async (tx) => {
    await otlpRepo.upsertOperationCategory(tx, { orgId: input.orgId, operation, category, at });
    await membersRepo.insertActorAudit(tx, {
      orgId: input.orgId,
      actor: input.actor,
      action: 'operation_category.set',
      details: { operation, category },
      at,
    });
  });
  return ok({ operation, category });
}

/** Removes an operation's category: its spans count under the default category again. */
export async function removeOperationCategory(
  ctx: Ctx,
  input: { orgId: bigint; actor: Actor; operation: string },
): Promise<Result<{ operation: string }, 'not_an_admin' | 'operation_invalid' | 'operation_category_not_found'>> {
  if (!(await isAdminActor(ctx, input.orgId, input.actor))) return fail('not_an_admin');
  const operation = normaliseOperation(input.operation);
  if (!operation) return fail('operation_invalid');
  const at = ctx.clock.now();
  const removed = await ctx.db.orm.transaction(async (tx) => {
    const deleted = await otlpRepo.deleteOperationCategory(tx, { orgId: input.orgId, operation });
    if (deleted) {
      await membersRepo.insertActorAudit(tx, {
        orgId: input.orgId,
        actor: input.actor,
        action: 'operation_category.remove',
        details: { operation },
        at,
      });
    }
    return deleted;
  });
  return removed ? ok({ operation }) : fail('operation_category_not_found');
}

/** The organisation's operation → category mappings, by operation. */
export async function listOperationCategories(ctx: Ctx, input: { orgId: bigint }) {
  return otlpRepo.listOperationCategories(ctx.db.orm, input.orgId);
}
