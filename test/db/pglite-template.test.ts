import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDataDir } from '../../src/db/data-dir';
import { pgliteMemoryOptions, pgliteSharedBuffers } from '../../src/db/pglite-settings';
import { pgliteTemplatePath, pgliteVersion } from '../../src/db/pglite-template';
import { tempDir } from '../start/spawn';

// New PGlite data folders are unpacked from the template the build made (initdb run once), with the
// small buffer pool that keeps an embedded Allot's memory down.

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('allot-template-');
});
afterAll(async () => dir?.remove());

async function systemIdentifierAndBuffers(dataDir: string): Promise<{ id: string; buffers: string }> {
  const { pgdataPath, release } = await openDataDir(dataDir);
  try {
    const db = await PGlite.create(pgdataPath, pgliteMemoryOptions);
    try {
      const [control] = (
        await db.query<{ id: string }>('select system_identifier::text as id from pg_control_system()')
      ).rows;
      const [setting] = (await db.query<{ shared_buffers: string }>('show shared_buffers')).rows;
      expect(readFileSync(path.join(pgdataPath, 'postgresql.conf'), 'utf8')).toMatch(
        new RegExp(`^shared_buffers = ${pgliteSharedBuffers}\\b`, 'm'),
      );
      return { id: control!.id, buffers: setting!.shared_buffers };
    } finally {
      await db.close();
    }
  } finally {
    await release();
  }
}

it('the build leaves a template for the installed PGlite, and new folders are unpacked from it with a 16 MB buffer pool', async () => {
  expect(pgliteTemplatePath()).toMatch(
    new RegExp(`dist/pglite-templates/${pgliteVersion().replaceAll('.', '\\.')}\\.tar\\.gz$`),
  );
  const first = await systemIdentifierAndBuffers(path.join(dir.path, 'one'));
  const second = await systemIdentifierAndBuffers(path.join(dir.path, 'two'));
  expect(first.buffers).toBe(pgliteSharedBuffers);
  // initdb gives every cluster a system identifier of its own; clusters unpacked from one template share it.
  expect(second.id).toBe(first.id);
}, 120_000);

it('no template is found for a PGlite version the build did not make one for', () => {
  expect(pgliteTemplatePath('0.0.0-not-installed')).toBeUndefined();
});
