import type { AppDeps } from '../app/module';
import { runAction } from '../chat/actions.usecases';
import type { ChatDirectory, ChatOutcome } from '../chat/chat.models';
import { resolveChatMember, runCommand } from '../chat/commands.usecases';
import { isOperationActionId } from '../chat/replies.models';
import type { ChatUserRef, CommandToken } from '../chat/words.models';
import type { Member, Organisation } from '../members/members.repository';
import type { ChatMessage } from '../notify/message.models';
import { teamsCommandPlace } from './teams-places.models';

// The seam between Teams and the platform-neutral chat core (src/chat: grammar, command runner,
// failure → reply table; src/approvals: top-up requests and decisions). Teams hands the core one
// command as tokens, or one button click, and presents what comes back as Adaptive Cards. Tests and
// a later move to the Microsoft 365 Agents SDK can put another implementation behind it.

export type { CommandToken };

export interface TeamsCommandInput {
  org: Organisation;
  actor: Member;
  /** The people this turn has seen (teams.directory.ts): the core creates the ones it has not met. */
  directory: ChatDirectory;
  /** The words and mentions after the bot's own mention was removed; the first word names the command. */
  tokens: CommandToken[];
  /** Idempotency key from the source: derived from the Teams conversation id and activity id. */
  idempotencyKey: string;
  /** The conversation the command was typed in. */
  conversation?: { id: string; type: 'personal' | 'groupChat' | 'channel' };
}

export interface TeamsActionInput {
  org: Organisation;
  actor: Member;
  /** The button's id, e.g. "request.approve". */
  actionId: string;
  /** The value the button carried, e.g. the request id. */
  value: string;
  /** Text typed on the card with the click (the reason of a denial). */
  note?: string;
}

export interface TeamsCoreOutcome {
  ok: boolean;
  /** For the person acting. */
  reply: ChatMessage;
  /** For a click: what the clicked card shows now (the invoke answer). */
  card?: ChatMessage;
  /** True when the core already edited every stored copy of the clicked card (through notifier.update). */
  cardEditedEverywhere: boolean;
}

/** What Teams needs from the chat core. Notifications to other people go through deps.notifier. */
export interface TeamsChatCore {
  /**
   * The member acting: found by tenant and Entra object id, or created from `directory` on first
   * sight, with the core's own checks (ALLOT_ADMINS). The one path by which a Teams user becomes a member.
   */
  resolveActor(input: { tenantId: string; user: ChatUserRef; directory: ChatDirectory }): Promise<Member>;
  runCommand(input: TeamsCommandInput): Promise<TeamsCoreOutcome>;
  runAction(input: TeamsActionInput): Promise<TeamsCoreOutcome>;
}

function fromOutcome(outcome: ChatOutcome, cardEditedEverywhere: boolean): TeamsCoreOutcome {
  return { ok: outcome.ok, reply: outcome.reply, card: outcome.card, cardEditedEverywhere };
}

/** The chat core of src/chat, called the way its README describes. */
export function createTeamsChatCore(deps: AppDeps): TeamsChatCore {
  return {
    async resolveActor(input) {
      const resolved = await resolveChatMember(deps, {
        workspace: { platform: 'teams', externalId: input.tenantId, name: `Teams ${input.tenantId}` },
        user: input.user,
        directory: input.directory,
      });
      return resolved.member;
    },
    async runCommand(input) {
      const [first, ...rest] = input.tokens;
      // A bare mention of the bot (or an empty message) gets the help text.
      const command = first === undefined ? 'tokens' : first.kind === 'word' ? first.text : '';
      const tokens: CommandToken[] = first === undefined ? [{ kind: 'word', text: 'help' }] : rest;
      const outcome = await runCommand(deps, {
        platform: 'teams',
        org: input.org,
        actor: input.actor,
        command,
        tokens,
        idempotencyKey: input.idempotencyKey,
        directory: input.directory,
        place: teamsCommandPlace(input.conversation),
        // A reply is seen by everyone in a group chat or channel; only a personal chat is private.
        replyVisibility: input.conversation?.type === 'personal' ? 'private' : 'shared',
      });
      return fromOutcome(outcome, false);
    },
    async runAction(input) {
      const outcome = await runAction(deps, {
        platform: 'teams',
        org: input.org,
        actor: input.actor,
        actionId: input.actionId,
        value: input.value,
        note: input.note,
      });
      if (isOperationActionId(input.actionId)) {
        // A confirmation question is answered in place: its card (the result, or "cancelled") is the whole
        // answer, edited into the question's message for everyone; only a click without a card is told why.
        return {
          ok: outcome.ok || outcome.card !== undefined,
          reply: outcome.reply,
          card: outcome.card,
          cardEditedEverywhere: false,
        };
      }
      return fromOutcome(outcome, true);
    },
  };
}
