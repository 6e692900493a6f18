import { hashEventContent, hashRawEvent, parseUsageEvent } from '../../src/usage/usage.models';

const now = new Date();
const events: Record<string, unknown>[] = [];
for (let n = 0; n < 50000; n++)
  events.push({
    id: `evt-${n.toString(36)}-${(n * 2654435761) % 1_000_003}`,
    time: new Date(now.getTime() - ((n * 7919) % (6 * 3_600_000))).toISOString(),
    user: `m${n % 1000}@bench.example`,
    model: 'gpt-4o',
    input_tokens: 500 + (n % 4000),
    output_tokens: 100 + (n % 900),
    category: 'code',
  });
function t(name: string, f: () => void) {
  let best = 1e9;
  for (let r = 0; r < 7; r++) {
    const s = performance.now();
    f();
    best = Math.min(best, performance.now() - s);
  }
  console.log(name.padEnd(20), ((best * 1000) / events.length).toFixed(2), 'us/event');
}
t('parse', () => {
  for (const e of events) parseUsageEvent(e, now);
});
t('content hash', () => {
  for (const e of events) {
    const p = parseUsageEvent(e, now);
    if (p.ok) hashEventContent(p.event);
  }
});
t('raw hash', () => {
  for (const e of events) hashRawEvent(e);
});
