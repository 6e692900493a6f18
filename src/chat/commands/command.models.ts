import type { Actor } from '../../lib/context';
import type { Member } from '../../members/members.repository';
import type { ChatDeps, ChatOutcome, RunCommandInput } from '../chat.models';
import type { ParsedCommand } from '../grammar.models';
import type { ChatUserRef } from '../words.models';

// The shape of one command's handler. The table in commands.table.ts holds one handler per command
// name, typed by that command's ParsedCommand variant, so a new command fails the build until handled.

/** What every handler gets: the adapter's input and what the runner worked out from it. */
export interface CommandRun {
  deps: ChatDeps;
  input: RunCommandInput;
  orgId: bigint;
  /** The member acting, as the verbs take them. */
  actor: Extract<Actor, { kind: 'member' }>;
  /** Whether the member acting is an active admin (roles.models.ts), for wording and confirmations only. */
  isAdmin: boolean;
  /** The member behind a named person (created on first sight), or undefined when the platform does not know them. */
  resolve(user: ChatUserRef): Promise<Member | undefined>;
}

export type CommandName = ParsedCommand['name'];
export type CommandOf<K extends CommandName> = Extract<ParsedCommand, { name: K }>;
export type CommandHandler<K extends CommandName> = (run: CommandRun, command: CommandOf<K>) => Promise<ChatOutcome>;
export type CommandTable = { [K in CommandName]: CommandHandler<K> };
