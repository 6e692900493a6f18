import type { Database, Orm } from '../db/database';
import { withRetries } from '../lib/db-errors';
import { applyReservationBatch, type BatchedReserve } from './reservation-batches.repository';
import {
  findByKeys,
  type ReserveOutcome,
  type SettleEvent,
  type SettleOutcome,
  type StoredReservation,
} from './reservations.repository';

// Group commit for reservations (bench/README.md, "Reservations"). Every reserve and settle is a small
// durable transaction on hot rows (the wallet, and the organisation's one `usage` account that every
// settle credits), so one at a time they queue on row locks and on WAL flushes. The batcher applies
// the reserves and settles of one organisation that arrive together in ONE transaction
// (allot_reservation_batch), each still getting its own answer, with the semantics of one at a time.
//
// - Window: none is waited for. A request that finds its organisation idle goes at once, alone (no
//   latency added at low load); requests that arrive while a batch is in flight wait for it and go
//   together as the next batch, the moment it commits: the database starts on the next batch while
//   this one's answers are delivered (reserves first: a gateway waits on a reserve to call the model).
//   The batch grows with the load by itself.
// - Size: at most `batchSizeMax` requests per batch (64); the rest wait for the next one.
// - Fairness: first come, first served. A batch takes the oldest waiting requests; a request whose id
//   is already in this batch or in one in flight (a retry, or a settle racing its own reserve) waits
//   for the next batch, so it sees the first one's result, as if they came one after the other.
//   Settles of one batch share a platform (the usage transfer records one); a settle from another
//   platform waits for the next batch. Within a batch the settles go first, then the reserves in
//   arrival order, each decided against what the ones before it left (zero overshoot).
// - Errors: a serialization failure, deadlock or concurrent twin reruns the whole batch (nothing of it
//   was applied). Any other error of a batch of several reruns each request alone, so only a request
//   that fails on its own fails (its caller gets the error, as an unbatched call would throw it).
// - Reads: a settle's usage event needs its reservation's user, time and model, which never change.
//   Those of reservations this process made are remembered (at most `knownReservationsMax`, the
//   oldest forgotten first); the others are read, one read per batch, before the write. Either way
//   the write itself re-checks the reservation's state under its lock.
// - Bound: what waits is bounded by the callers (the HTTP API allows 256 requests in flight per key).
// - Shutdown: `drain()` resolves once nothing waits, nothing is in flight and every answer taken is
//   delivered; the server stops taking requests first, so every request it accepted is answered.

/** Most requests one batch applies. */
export const reservationBatchSizeMax = 64;

/**
 * Batches of one organisation in flight at once. One: its settles all write the organisation's `usage`
 * account, so a second batch would only wait on that row; meanwhile the next batch gathers.
 */
export const reservationBatchesInFlightMax = 1;

/** Reservations remembered from their reserve, so that their settle need not read them first. */
export const knownReservationsMax = 10_000;

/** A settle for the batcher: the reservation's id, and how to build its usage event once it is read. */
export interface SettleJob {
  idempotencyKey: string;
  platform: string;
  now: Date;
  /**
   * The settle's usage event for the reservation as stored (undefined: no reservation has this id), or
   * null when nothing is to be written (unknown, released, or usage refused): the caller answers from
   * `found` alone. Pure: it may be called again with a fresher read; a throw fails this settle alone.
   */
  prepare(found: StoredReservation | undefined): SettleEvent | null;
}

export interface SettleAnswer {
  /**
   * The reservation as read or remembered before the write: its amount, deadline, creation time, user
   * and model never change; its state may have since (the outcome's is the one that counts).
   */
  found: StoredReservation | undefined;
  /** The write's outcome; null when `prepare` answered null. */
  outcome: SettleOutcome | null;
}

export interface ReservationBatcher {
  /** Holds tokens as allot_reserve does, in the next batch of the organisation. */
  reserve(orgId: bigint, request: BatchedReserve): Promise<ReserveOutcome>;
  /** Settles a reservation as allot_settle_reservation does, in the next batch of the organisation. */
  settle(orgId: bigint, job: SettleJob): Promise<SettleAnswer>;
  /** Resolves once no request waits and no batch is in flight. */
  drain(): Promise<void>;
  /** Batches applied and the requests they carried, since the batcher was made (for /metrics). */
  stats(): { batches: number; requests: number };
}

interface Pending<T> {
  key: string;
  done: boolean;
  resolve(value: T): void;
  reject(error: unknown): void;
}
type Job =
  | (Pending<ReserveOutcome> & { kind: 'reserve'; request: BatchedReserve })
  | (Pending<SettleAnswer> & { kind: 'settle'; settle: SettleJob });

/** What this process knows of reservations it made (their fields a settle needs never change). */
interface KnownReservations {
  get(orgId: bigint, key: string): StoredReservation | undefined;
  remember(orgId: bigint, reservation: StoredReservation): void;
  forget(orgId: bigint, key: string): void;
}

function knownReservations(max: number): KnownReservations {
  // A Map keeps insertion order: the first key is the oldest. The organisation id has no colon.
  const known = new Map<string, StoredReservation>();
  return {
    get: (orgId, key) => known.get(`${orgId}:${key}`),
    remember(orgId, reservation) {
      known.set(`${orgId}:${reservation.idempotencyKey}`, reservation);
      if (known.size > max) known.delete(known.keys().next().value!);
    },
    forget: (orgId, key) => known.delete(`${orgId}:${key}`),
  };
}

/** The reservation a reserve just made, as a settle will need it. */
function madeReservation(request: BatchedReserve, outcome: ReserveOutcome): StoredReservation | undefined {
  if (outcome.status !== 'ok' || !outcome.reservation || outcome.memberId === null) return undefined;
  return {
    ...outcome.reservation,
    idempotencyKey: request.idempotencyKey,
    memberId: outcome.memberId,
    userRef: request.user.text,
    model: request.model,
    resolvedAt: null,
    usageEventId: null,
  };
}

interface OrgQueue {
  waiting: Job[];
  inFlight: number;
  keysInFlight: Set<string>;
}

/** The oldest waiting jobs that may go together now, taken off the queue (see the rules above). */
function takeBatch(queue: OrgQueue, sizeMax: number): Job[] {
  const batch: Job[] = [];
  const rest: Job[] = [];
  const keys = new Set<string>();
  let platform: string | undefined;
  for (const job of queue.waiting) {
    const otherPlatform = job.kind === 'settle' && platform !== undefined && job.settle.platform !== platform;
    if (batch.length >= sizeMax || keys.has(job.key) || queue.keysInFlight.has(job.key) || otherPlatform) {
      rest.push(job);
      continue;
    }
    if (job.kind === 'settle') platform = job.settle.platform;
    keys.add(job.key);
    batch.push(job);
  }
  queue.waiting = rest;
  return batch;
}

function answer<T>(job: Pending<T>, value: T) {
  if (job.done) return;
  job.done = true;
  job.resolve(value);
}

function failJob(job: Job, error: unknown) {
  if (job.done) return;
  job.done = true;
  job.reject(error);
}

type SettleJobOf = Extract<Job, { kind: 'settle' }>;

/**
 * The settles' usage events, built from their reservations: remembered ones, else read (one read).
 * A settle answered without a write (unknown, released, usage refused) is answered here; one whose
 * reservation was only remembered is first read again, so its answer never rests on a state that may
 * have changed since (another replica may have released it).
 */
async function prepareSettles(orm: Orm, known: KnownReservations, orgId: bigint, settles: readonly SettleJobOf[]) {
  const found = new Map<string, StoredReservation>();
  const remembered = new Set<string>();
  const read = async (keys: string[]) => {
    const stored = keys.length === 0 ? new Map() : await withRetries(() => findByKeys(orm, orgId, keys));
    for (const key of keys) {
      remembered.delete(key);
      if (stored.has(key)) found.set(key, stored.get(key)!);
      else found.delete(key);
    }
  };
  for (const job of settles) {
    const reservation = known.get(orgId, job.key);
    if (reservation) {
      found.set(job.key, reservation);
      remembered.add(job.key);
    }
  }
  await read(settles.filter((job) => !remembered.has(job.key)).map((job) => job.key));
  const writes: { job: SettleJobOf; event: SettleEvent }[] = [];
  let unwritten: SettleJobOf[] = [];
  const prepare = (job: SettleJobOf) => {
    try {
      const event = job.settle.prepare(found.get(job.key));
      if (event === null) unwritten.push(job);
      else writes.push({ job, event });
    } catch (error) {
      failJob(job, error);
    }
  };
  for (const job of settles) prepare(job);
  const recheck = unwritten.filter((job) => remembered.has(job.key));
  if (recheck.length > 0) {
    await read(recheck.map((job) => job.key));
    unwritten = unwritten.filter((job) => !recheck.includes(job));
    for (const job of recheck) prepare(job);
  }
  for (const job of unwritten) answer(job, { found: found.get(job.key), outcome: null });
  return { found, writes };
}

/**
 * One attempt at a batch: build the settles' events, then write the whole batch at once. `written` is
 * called once the write has committed, before any answer: the next batch may go while this one's
 * answers are delivered. Reserves are answered before settles (a gateway waits on its reserve to start
 * the model call; a settle's caller has its answer already).
 */
async function applyBatch(
  orm: Orm,
  known: KnownReservations,
  orgId: bigint,
  batch: readonly Job[],
  written: () => void,
): Promise<void> {
  const settles = batch.filter((job): job is SettleJobOf => job.kind === 'settle' && !job.done);
  const reserves = batch.filter((job): job is Extract<Job, { kind: 'reserve' }> => job.kind === 'reserve' && !job.done);
  const { found, writes } = await prepareSettles(orm, known, orgId, settles);
  if (writes.length === 0 && reserves.length === 0) return;
  const outcomes = await withRetries(() =>
    applyReservationBatch(orm, {
      orgId,
      platform: writes[0]?.job.settle.platform ?? 'api',
      settles: writes.map(({ job, event }) => ({ idempotencyKey: job.key, now: job.settle.now, event })),
      reserves: reserves.map((job) => job.request),
    }),
  );
  for (const { job } of writes) known.forget(orgId, job.key);
  for (const [index, job] of reserves.entries()) {
    const made = madeReservation(job.request, outcomes.reserves[index]!);
    if (made) known.remember(orgId, made);
  }
  written();
  for (const [index, job] of reserves.entries()) answer(job, outcomes.reserves[index]!);
  for (const [index, { job }] of writes.entries()) {
    answer(job, { found: found.get(job.key), outcome: outcomes.settles[index]! });
  }
}

/**
 * A batcher over `orm` (see the rules at the top of this file). `batchSizeMax` and `inFlightMax`
 * default to reservationBatchSizeMax and reservationBatchesInFlightMax; a size of 1 turns batching off.
 */
export function createReservationBatcher(
  orm: Orm,
  options: { batchSizeMax?: number; inFlightMax?: number } = {},
): ReservationBatcher {
  const sizeMax = options.batchSizeMax ?? reservationBatchSizeMax;
  const inFlightMax = options.inFlightMax ?? reservationBatchesInFlightMax;
  const queues = new Map<bigint, OrgQueue>();
  const idle: (() => void)[] = [];
  const counts = { batches: 0, requests: 0 };
  const known = knownReservations(knownReservationsMax);

  const run = async (orgId: bigint, batch: Job[], written: () => void) => {
    counts.batches++;
    counts.requests += batch.length;
    try {
      await applyBatch(orm, known, orgId, batch, written);
    } catch (error) {
      if (batch.length === 1) {
        failJob(batch[0]!, error);
        return;
      }
      // One request may be what failed: each runs alone, so the others are answered.
      for (const job of batch) {
        if (job.done) continue;
        counts.batches++;
        await applyBatch(orm, known, orgId, [job], () => {}).catch((single: unknown) => failJob(job, single));
      }
    }
  };

  const pump = (orgId: bigint, queue: OrgQueue) => {
    while (queue.inFlight < inFlightMax && queue.waiting.length > 0) {
      const batch = takeBatch(queue, sizeMax);
      if (batch.length === 0) return;
      queue.inFlight++;
      for (const job of batch) queue.keysInFlight.add(job.key);
      // Once the batch has committed, its slot and keys are free and the next batch goes while this
      // one's answers are delivered; `drain` still waits for those (the `finally`, after them).
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        queue.inFlight--;
        for (const job of batch) queue.keysInFlight.delete(job.key);
        pump(orgId, queue);
      };
      void run(orgId, batch, release).finally(() => {
        release();
        if (queue.inFlight === 0 && queue.waiting.length === 0 && queues.get(orgId) === queue) queues.delete(orgId);
        if (queues.size === 0) for (const wake of idle.splice(0)) wake();
      });
    }
  };

  const submit = <T>(orgId: bigint, make: (pending: Pending<T>) => Job) =>
    new Promise<T>((resolve, reject) => {
      let queue = queues.get(orgId);
      if (!queue) {
        queue = { waiting: [], inFlight: 0, keysInFlight: new Set() };
        queues.set(orgId, queue);
      }
      queue.waiting.push(make({ key: '', done: false, resolve, reject }));
      pump(orgId, queue);
    });

  return {
    reserve: (orgId, request) =>
      submit<ReserveOutcome>(orgId, (pending) => ({
        ...pending,
        key: request.idempotencyKey,
        kind: 'reserve',
        request,
      })),
    settle: (orgId, settle) =>
      submit<SettleAnswer>(orgId, (pending) => ({ ...pending, key: settle.idempotencyKey, kind: 'settle', settle })),
    drain: () => (queues.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
    stats: () => ({ ...counts }),
  };
}

const batchers = new WeakMap<Database, ReservationBatcher>();

/** The batcher of an open database: one per database per process, shared by every caller of the verbs. */
export function reservationBatcher(db: Database): ReservationBatcher {
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = createReservationBatcher(db.orm);
    batchers.set(db, batcher);
  }
  return batcher;
}

/**
 * Gives `db` a batcher with these options from now on (a batch size of 1: one request per transaction,
 * as before batching). For benchmarks and tests that compare; call it before the database's first
 * reserve or settle.
 */
export function configureReservationBatcher(
  db: Database,
  options: { batchSizeMax?: number; inFlightMax?: number },
): ReservationBatcher {
  const batcher = createReservationBatcher(db.orm, options);
  batchers.set(db, batcher);
  return batcher;
}
