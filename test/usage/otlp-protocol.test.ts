import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript script of the repository, without types.
import { descriptorPath, generateDescriptor } from '../../scripts/otlp-descriptor.js';

// The OTLP messages Allot decodes and encodes are compiled from the official .proto files
// (scripts/otlp-descriptor.js). A hand edit of the committed descriptor, or an upgrade of the packages
// that carry the .proto files without regenerating it, fails here.

it('the committed OTLP descriptor is exactly what the official .proto files compile to', () => {
  const committed = readFileSync(descriptorPath as string, 'utf8');
  expect(committed, 'regenerate with: npm run otlp:descriptor').toBe((generateDescriptor as () => string)());
  const document = JSON.parse(committed) as { descriptor: { nested: Record<string, unknown> } };
  expect(Object.keys(document.descriptor.nested).sort()).toEqual(['google', 'opentelemetry']);
});
