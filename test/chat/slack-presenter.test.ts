import { expect, it } from 'vitest';
import { message, text } from '../../src/notify/message.models';
import { toHomeView, toSlackMessage } from '../../src/slack/blockkit.presenter';

it('user text is escaped; members become mentions only where their Slack id is known', () => {
  const hostile = message(
    'Grant <!channel> & more',
    text(
      [
        { member: { id: 1n, name: 'Ana' } },
        ' and ',
        { member: { id: 2n, name: '<!here> Bob' } },
        ': ',
        { italic: '<@U999> <!everyone> & co' },
      ],
      [{ bold: 'x > y' }, ' ', { code: 'a`b<c' }],
    ),
  );
  const shown = toSlackMessage(hostile, new Map([[1n, 'U123ANA']]));
  expect(shown.text).toBe('Grant &lt;!channel&gt; &amp; more');
  const section = shown.blocks[0]!.text.text as string;
  expect(section).toBe(
    "<@U123ANA> and &lt;!here&gt; Bob: _&lt;@U999&gt; &lt;!everyone&gt; &amp; co_\n*x &gt; y* `a'b&lt;c`",
  );
  expect(JSON.stringify(shown)).not.toMatch(/<!|<@U999/);
});

it('a Slack id that is not a user id is never emitted as a mention', () => {
  const shown = toSlackMessage(message('s', text([{ member: { id: 1n, name: 'Ana' } }])), new Map([[1n, '!channel']]));
  expect(shown.blocks[0]!.text.text).toBe('Ana');
});

it('the Home view keeps within Slack’s 100 blocks and messages within 50', () => {
  const many = { summary: 's', blocks: Array.from({ length: 120 }, () => text(['x'])) };
  expect(toHomeView(many, new Map()).blocks).toHaveLength(100);
  expect(toSlackMessage(many, new Map()).blocks).toHaveLength(50);
});
