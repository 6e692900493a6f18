import { expect, it } from 'vitest';
import { z } from 'zod';
import { checkEventFields, type EventFields } from '../../src/usage/event-fields.models';

// The zod schema the hand-written checks replaced, kept here as their reference: both must accept the
// same values, give the same normalised fields, and name the same field first when an event is refused
// (the first issue of a zod object is its first failing key, in the shape's order).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the reference refuses control characters too.
const noControlCharacters = /^[^\u0000-\u001f\u007f]*$/;
const tokenCount = z.union([z.number().int().min(0).max(1_000_000_000), z.string().regex(/^[0-9]{1,10}$/)]);
const reference = z.object({
  id: z.string().min(1).max(255).regex(noControlCharacters),
  time: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]),
  user: z.string().min(3).max(254),
  model: z
    .string()
    .trim()
    .toLowerCase()
    .min(1)
    .max(100)
    .regex(/^[a-z0-9][a-z0-9._:/@+-]*$/),
  inputTokens: tokenCount,
  outputTokens: tokenCount,
  category: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/)
    .optional(),
});

const oddValues = [null, true, false, {}, [], 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '', ' ', '\u0000'];
const candidates: Record<keyof EventFields, unknown[]> = {
  id: [
    'a',
    'evt-1',
    'x'.repeat(255),
    'x'.repeat(256),
    'a\u0000b',
    'a\u001fb',
    'a\u007fb',
    'a\u0080b',
    'é—',
    '\ud800',
    '  ',
    'id "quoted" \\',
  ],
  time: [
    '2026-01-05T08:00:00Z',
    '2026-01-05T08:00:00+01:00',
    '2026-01-05T08:00:00-23:59',
    '2026-01-05T08:00:00+24:00',
    '2026-01-05T08:00:00.123456789Z',
    '2026-01-05T08:00:00.Z',
    '2026-01-05T08:00Z',
    '2026-01-05T08:00:00',
    '2026-01-05t08:00:00z',
    '2026-01-05 08:00:00Z',
    '2026-01-05T24:00:00Z',
    '2026-01-05T23:60:00Z',
    '2024-02-29T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2000-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '+02026-01-05T08:00:00Z',
    ' 2026-01-05T08:00:00Z',
    '2026-01-05T08:00:00Z\n',
    '1767600000000',
    1,
    1_767_600_000_000,
    2 ** 53 - 1,
    2 ** 53,
    -0,
  ],
  user: ['ab', 'abc', 'ana@example.com', ' Ana@Example.COM ', 'a'.repeat(254), 'a'.repeat(255), 'slack:U123'],
  model: [
    'gpt-4o',
    ' GPT-4o ',
    'a'.repeat(100),
    'a'.repeat(101),
    ` ${'a'.repeat(100)} `,
    'a b',
    '-a',
    'a/b@c+d:e.f_g',
    'İ',
    'K',
    '\t',
  ],
  inputTokens: [
    0,
    1,
    1_000_000_000,
    1_000_000_001,
    -0,
    2 ** 53,
    '0',
    '0000000000',
    '12345678901',
    ' 1',
    '1e3',
    '-1',
    '１',
  ],
  outputTokens: [0, 5, 999, '7', '1.0', 1e9, 1e10],
  category: [undefined, 'code', ' Code ', 'a'.repeat(40), 'a'.repeat(41), '_a', 'a-b_c', 'code!', 'K'],
};
const fieldsInOrder = Object.keys(candidates) as (keyof EventFields)[];
const valid: EventFields = {
  id: 'evt-1',
  time: '2026-01-05T08:00:00Z',
  user: 'ana@example.com',
  model: 'gpt-4o',
  inputTokens: 10,
  outputTokens: 0,
  category: 'code',
};

function expectAgreement(fields: EventFields) {
  const expected = reference.safeParse(fields);
  const actual = checkEventFields(fields);
  if (expected.success) expect(actual, JSON.stringify(fields)).toEqual({ ok: true, value: expected.data });
  else expect(actual, JSON.stringify(fields)).toEqual({ ok: false, field: expected.error.issues[0]?.path[0] });
}

it('the field checks accept, normalise and refuse exactly as the zod schema they replaced, field by field', () => {
  for (const field of fieldsInOrder) {
    for (const value of [...candidates[field], ...oddValues]) expectAgreement({ ...valid, [field]: value });
  }
});

it('the field checks name the same first failing field as the zod schema on random mixes of values', () => {
  const seed = Number(process.env.USAGE_SEED ?? Date.now() % 100_000);
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const pick = (values: unknown[]) => values[Math.floor(next() * values.length)];
  for (let run = 0; run < 3_000; run++) {
    const fields = { ...valid };
    for (const field of fieldsInOrder) {
      const roll = next();
      if (roll < 0.5) continue;
      fields[field] = pick(roll < 0.9 ? candidates[field] : oddValues);
    }
    try {
      expectAgreement(fields);
    } catch (error) {
      throw new Error(`seed ${seed}, run ${run}: ${(error as Error).message}`);
    }
  }
});
