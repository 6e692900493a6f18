import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackHarness, SlackWorkspace, startSlackHarness } from '../../support/app';
import { textOf } from '../../support/fake-slack';
import { ledgerOf, settle, setUpTeam } from './team';

// A grant or budget issue of more than 10,000,000 tokens in all asks its issuer first, privately, with
// Confirm and Cancel. Confirming posts exactly once (the command's own trigger id is the ledger key, so a
// double click or a redelivered click replays); cancelling posts nothing; nobody else may press them.

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => h?.stop());

interface Button {
  action_id: string;
  value: string;
  text: { text: string };
}

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON.
const buttonsIn = (body: any): Button[] =>
  // biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON.
  (body.blocks ?? []).filter((b: any) => b.type === 'actions').flatMap((b: any) => b.elements);

/** Runs a command that must be answered with a confirmation question; returns its two buttons. */
async function asked(ws: SlackWorkspace, user: string, command: string, text: string) {
  const { reply, responsePath } = await ws.command(user, command, text);
  expect(reply.response_type).toBe('ephemeral');
  const buttons = buttonsIn(reply);
  expect(buttons.map((b) => b.action_id)).toEqual(['operation.confirm', 'operation.cancel']);
  return { reply, responsePath, confirm: buttons[0]!, cancel: buttons[1]! };
}

/** `user` presses a button of the question and gets the answer posted to the click's response_url. */
async function press(ws: SlackWorkspace, user: string, button: Button) {
  const click = await ws.click({ user, actionId: button.action_id, value: button.value, channel: 'C0GENERAL' });
  expect(click.status).toBe(200);
  return (await ws.waitForResponse(click.responsePath)).body;
}

describe('a grant of more than 10,000,000 tokens in all', () => {
  it('asks first and moves nothing; Confirm grants once and tells each recipient once; a second click replays', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    const ledger = ledgerOf(h, ws);
    const question = await asked(ws, 'UADMIN', '/grant-tokens', '<@UANA> <@UBEN> 6M launch bonus');
    expect(textOf(question.reply)).toContain(
      'Grant *6,000,000 tokens* each to <@UANA> and <@UBEN> (*12,000,000 tokens* in all): _launch bonus_?',
    );
    expect(textOf(question.reply)).toContain('Nothing has moved yet, and only you can confirm.');
    expect(question.confirm.text.text).toBe('Confirm 12,000,000 tokens');
    await settle(h);
    expect(await ledger.transfers()).toEqual([]);
    expect(await ledger.wallet('UANA')).toBe(0n);

    const answer = await press(ws, 'UADMIN', question.confirm);
    expect(answer).toMatchObject({ response_type: 'ephemeral', replace_original: true });
    expect(textOf(answer)).toContain('You granted *6,000,000 tokens* each to <@UANA> and <@UBEN>: _launch bonus_');
    expect(buttonsIn(answer)).toEqual([]);
    await settle(h);
    expect(await ledger.wallet('UANA')).toBe(6_000_000n);
    expect(await ledger.wallet('UBEN')).toBe(6_000_000n);

    // A double click, then two clicks at once: the same transfers, answered the same, nobody told twice.
    const again = await press(ws, 'UADMIN', question.confirm);
    expect(textOf(again)).toContain('You granted *6,000,000 tokens* each');
    await Promise.all([press(ws, 'UADMIN', question.confirm), press(ws, 'UADMIN', question.confirm)]);
    await settle(h);
    expect((await ledger.transfers()).filter((t) => t.code === 'grant')).toHaveLength(2);
    expect(await ledger.wallet('UANA')).toBe(6_000_000n);
    const notices = ws.callsOf('chat.postMessage').filter((c) => textOf(c.params).includes('granted you'));
    expect(notices.map((c) => c.params.channel).sort()).toEqual(['DANA', 'DBEN']);
    expect(await ledger.audit()).toEqual([]);
  });

  it('Cancel posts nothing, and a Confirm pressed after it posts nothing either', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    const ledger = ledgerOf(h, ws);
    const question = await asked(ws, 'UADMIN', '/grant-tokens', '<@UANA> 20M');
    const cancelled = await press(ws, 'UADMIN', question.cancel);
    expect(cancelled).toMatchObject({ replace_original: true });
    expect(textOf(cancelled)).toContain('Cancelled: nothing was moved.');
    const late = await press(ws, 'UADMIN', question.confirm);
    expect(textOf(late)).toContain('Cancelled: nothing was moved.');
    await settle(h);
    expect((await ledger.transfers()).filter((t) => t.code === 'grant')).toEqual([]);
    expect(await ledger.wallet('UANA')).toBe(0n);
    expect(ws.callsOf('chat.postMessage').filter((c) => textOf(c.params).includes('granted you'))).toEqual([]);
  });

  it('only the person who typed the command may confirm it; anyone else is told so and nothing moves', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    ws.user('UOTHER', { name: 'Otto', is_admin: true });
    const ledger = ledgerOf(h, ws);
    const question = await asked(ws, 'UADMIN', '/grant-tokens', '<@UANA> 11M');
    for (const button of [question.confirm, question.cancel]) {
      const refused = await press(ws, 'UOTHER', button);
      expect(refused.replace_original).toBe(false);
      expect(textOf(refused)).toContain('Only the person who typed this command can confirm or cancel it.');
    }
    expect(await ledger.wallet('UANA')).toBe(0n);
    // The issuer still can.
    expect(textOf(await press(ws, 'UADMIN', question.confirm))).toContain('You granted *11,000,000 tokens*');
    expect(await ledger.wallet('UANA')).toBe(11_000_000n);
  });

  it('the limit counts the total moved: 10,000,000 to one person is granted at once, 5,000,000 each to three people is asked', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    ws.user('UCY', { name: 'Cy' });
    const ledger = ledgerOf(h, ws);
    const { reply } = await ws.command('UADMIN', '/grant-tokens', '<@UANA> 10M');
    expect(textOf(reply)).toContain('You granted *10,000,000 tokens*');
    await asked(ws, 'UADMIN', '/grant-tokens', '<@UANA> <@UBEN> <@UCY> 5M');
    expect(await ledger.wallet('UBEN')).toBe(0n);
  });

  it('a manager is asked only when their budget covers it; otherwise the usual refusal comes at once', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    const ledger = ledgerOf(h, ws);
    const budget = await asked(ws, 'UADMIN', '/tokens', 'budget <@UMIA> 15M Q3');
    await press(ws, 'UADMIN', budget.confirm);
    expect(await ledger.budget('UMIA')).toBe(15_000_000n);
    const over = await ws.command('UMIA', '/grant-tokens', '<@UANA> 20M');
    expect(textOf(over.reply)).toMatch(/needs \*20,000,000 tokens\* but your budget has \*15,000,000 tokens\*/);
    const question = await asked(ws, 'UMIA', '/grant-tokens', '<@UANA> 12M');
    expect(textOf(await press(ws, 'UMIA', question.confirm))).toContain('Left in your budget: *3,000,000 tokens*');
    expect(await ledger.wallet('UANA')).toBe(12_000_000n);
    expect(await ledger.audit()).toEqual([]);
  });
});

describe('a budget of more than 10,000,000 tokens', () => {
  it('asks first; Confirm issues it once and tells the manager once; Cancel on another issues nothing', async () => {
    const ws = new SlackWorkspace(h);
    await setUpTeam(ws, '0');
    const ledger = ledgerOf(h, ws);
    const question = await asked(ws, 'UADMIN', '/tokens', 'budget <@UMIA> 25M annual');
    expect(textOf(question.reply)).toContain("Add *25,000,000 tokens* to <@UMIA>'s budget: _annual_?");
    expect(await ledger.budget('UMIA')).toBe(0n);
    expect(textOf(await press(ws, 'UADMIN', question.confirm))).toContain('Added *25,000,000 tokens* to <@UMIA>');
    await press(ws, 'UADMIN', question.confirm);
    await settle(h);
    expect(await ledger.budget('UMIA')).toBe(25_000_000n);
    expect((await ledger.transfers()).filter((t) => t.code === 'issue')).toHaveLength(1);
    expect(ws.callsOf('chat.postMessage').filter((c) => textOf(c.params).includes('to your budget'))).toHaveLength(1);

    const second = await asked(ws, 'UADMIN', '/tokens', 'budget <@UMIA> 30M');
    expect(textOf(await press(ws, 'UADMIN', second.cancel))).toContain('Cancelled');
    expect(await ledger.budget('UMIA')).toBe(25_000_000n);
    expect(await ledger.audit()).toEqual([]);
  });
});
