import { amountHelp } from '../ledger/amount.models';
import { takeExpiryTail } from './expiry-grammar.models';
import {
  type AllowanceTargetRef,
  type GrammarResult,
  memberRoleWords,
  readAmount,
  refuse,
  usages,
} from './grammar-shapes.models';
import type { CommandToken } from './words.models';

// The grammar of `/tokens digest …` (a channel, a cron expression in quotes, a time zone) and
// `/tokens allowance …` (a role or person, an amount, a period, a rollover cap, an expiry).

/** Quotes people type around a cron expression, straight or curly (Slack and Teams clients curl them). */
const openingQuote = /^["“”'‘’]/;
const closingQuote = /["“”'‘’]$/;
const cronFieldCountMax = 6;

export function parseDigest(tokens: CommandToken[]): GrammarResult {
  const usage = usages['tokens-digest'];
  const words = tokens.filter((token): token is Extract<CommandToken, { kind: 'word' }> => token.kind === 'word');
  if (words.length !== tokens.length) return refuse('A digest goes to a channel, not to a person.', usage);
  const first = words[0]?.text.toLowerCase();
  if (first === undefined) return { ok: true, command: { name: 'tokens-digest', action: 'show' } };
  if (first === 'preview' && words.length === 1)
    return { ok: true, command: { name: 'tokens-digest', action: 'preview' } };
  if (first === 'off' || first === 'stop') {
    const channel = words[1];
    if (words.length > 2 || (channel && !channel.channelId)) {
      return refuse('Say which channel to stop, picked with #, or nothing for every channel.', usage);
    }
    return { ok: true, command: { name: 'tokens-digest', action: 'off', channelId: channel?.channelId ?? null } };
  }
  let rest = words;
  let channelId: string | null = null;
  if (rest[0]?.channelId) {
    channelId = rest[0].channelId;
    rest = rest.slice(1);
  } else if (rest[0]?.text.startsWith('#')) {
    return refuse(`I couldn't tell which channel “${rest[0].text.slice(0, 40)}” is. Pick it from the # list.`, usage);
  }
  // The schedule: a quoted cron expression (or its five bare fields), then an IANA time zone.
  let fields: string[] = [];
  if (rest[0] && openingQuote.test(rest[0].text)) {
    let index = 0;
    const parts: string[] = [];
    for (; index < rest.length && index < cronFieldCountMax + 1; index++) {
      parts.push(rest[index]!.text);
      if ((index > 0 || rest[index]!.text.length > 1) && closingQuote.test(rest[index]!.text)) break;
    }
    const joined = parts.join(' ').replace(openingQuote, '').replace(closingQuote, '').trim();
    fields = joined.split(/\s+/).filter(Boolean);
    rest = rest.slice(index + 1);
  } else {
    fields = rest.slice(0, 5).map((word) => word.text);
    rest = rest.slice(5);
  }
  if (fields.length < 5 || fields.length > cronFieldCountMax) {
    return refuse('Give the schedule as a cron expression in quotes, then a time zone.', usage);
  }
  const zone = rest[0]?.text;
  if (!zone || rest.length > 1) return refuse('End with the time zone, like Europe/Berlin or America/New_York.', usage);
  return {
    ok: true,
    command: { name: 'tokens-digest', action: 'set', channelId, cron: fields.join(' '), timeZone: zone },
  };
}

export function parseAllowance(input: CommandToken[]): GrammarResult {
  const usage = usages['tokens-allowance'];
  if (input.length === 0) return { ok: true, command: { name: 'tokens-allowance', action: 'list' } };
  const tail = takeExpiryTail(input);
  if (!tail.ok) return refuse(tail.problem, usage);
  const tokens = tail.rest;
  const readTarget = (token: CommandToken | undefined): AllowanceTargetRef | undefined => {
    if (token?.kind === 'mention') return { user: token.user };
    const word = token?.kind === 'word' ? token.text.toLowerCase().replace(/s$/, '') : '';
    const role = memberRoleWords.find((known) => known === word);
    return role ? { role } : undefined;
  };
  const [first, ...rest] = tokens;
  if (first?.kind === 'word' && ['off', 'remove', 'stop'].includes(first.text.toLowerCase())) {
    const target = readTarget(rest[0]);
    if (!target || rest.length > 1) return refuse('Say whose allowance to stop: a role or a person.', usage);
    return { ok: true, command: { name: 'tokens-allowance', action: 'off', target } };
  }
  const target = readTarget(first);
  if (!target) return refuse('Start with a role (admin, manager, member) or a person from the @ list.', usage);
  const amount = readAmount(rest, 'other');
  if (!amount) return refuse(`No amount given. ${amountHelp}`, usage);
  if (!amount.ok) return refuse(amount.message, usage);
  const after = rest.slice(1);
  const periodWord = after[0]?.kind === 'word' ? after[0].text.toLowerCase() : '';
  const period =
    periodWord === 'weekly' || periodWord === 'week'
      ? 'weekly'
      : periodWord === 'monthly' || periodWord === 'month'
        ? 'monthly'
        : undefined;
  if (!period) return refuse('Say how often: weekly or monthly.', usage);
  let rolloverCap: bigint | null = null;
  const capWords = after.slice(1);
  if (capWords.length > 0) {
    const keyword = capWords[0]?.kind === 'word' ? capWords[0].text.toLowerCase() : '';
    if (keyword !== 'rollover' && keyword !== 'cap')
      return refuse('After the period, only “rollover <most carried over>” may follow.', usage);
    const capText = capWords[1]?.kind === 'word' ? capWords[1].text : '';
    if (capText === '0' || capText.toLowerCase() === 'none') rolloverCap = 0n;
    else {
      const cap = readAmount(capWords.slice(1), 'other');
      if (cap?.ok === false && cap.failure === 'amount_ambiguous') return refuse(cap.message, usage);
      if (!cap?.ok || capWords.length !== 2) {
        return refuse('The rollover cap is an amount, like rollover 50k (or rollover 0).', usage);
      }
      rolloverCap = cap.amount;
    }
  }
  return {
    ok: true,
    command: {
      name: 'tokens-allowance',
      action: 'set',
      target,
      amount: amount.amount,
      period,
      rolloverCap,
      ...(tail.expiry ? { expiry: tail.expiry } : {}),
    },
  };
}
