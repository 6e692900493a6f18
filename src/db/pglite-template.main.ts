import path from 'node:path';
import { writePgliteTemplate } from './pglite-template';

// `node dist/pglite-template.js <file>`: writes the PGlite template (pglite-template.ts). scripts/build.js
// runs it in a process of its own, so initdb's memory is returned when it exits.

const file = process.argv[2];
if (!file) {
  console.error('usage: node dist/pglite-template.js <file.tar.gz>');
  process.exit(2);
}
await writePgliteTemplate(path.resolve(file));
