import type { Database } from '../db/database';
import type { Clock } from './clock';

/** What every verb receives: the database and the clock. */
export interface Ctx {
  db: Database;
  clock: Clock;
}

/** Where an action came from: a chat platform, the CLI, the HTTP API, the web dashboard (`web`), or a schedule. */
export const platforms = ['slack', 'teams', 'cli', 'api', 'web', 'system'] as const;
export type Platform = (typeof platforms)[number];

/**
 * Who is acting. A member acts through a chat platform; an operator is someone at the `allot` CLI
 * with the database in hand, and has an admin's powers; the system runs schedules.
 */
export type Actor =
  | { kind: 'member'; memberId: bigint; platform: Platform }
  | { kind: 'operator'; platform: 'cli' }
  | { kind: 'system'; platform: 'system' | 'api' };

export const operatorActor: Actor = { kind: 'operator', platform: 'cli' };
export const systemActor: Actor = { kind: 'system', platform: 'system' };

export function actorMemberId(actor: Actor): bigint | null {
  return actor.kind === 'member' ? actor.memberId : null;
}
