import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Where Allot is installed: the folder holding its package.json. Relative paths an operator configures
// (DATA_DIR) are read against it, never against the shell's working directory, so the server and the
// CLI run from any folder open the same database.

const packageName = 'allot';
const levelsUpMax = 6;

interface PackageJson {
  name?: string;
  version?: string;
}

function readPackage(folder: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/**
 * The nearest folder above `start` whose package.json is Allot's. Found by walking up (at most six
 * levels), so it holds for the sources run through tsx and for a compiled copy alike. Only a broken
 * installation has none: that is a bug, and it throws.
 */
export function findProjectRoot(start: string): string {
  let folder = start;
  for (let level = 0; level <= levelsUpMax; level++) {
    if (readPackage(folder)?.name === packageName) return folder;
    const parent = path.dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  throw new Error(`no package.json named "${packageName}" above ${start}`);
}

/** Absolute path of the folder holding Allot's package.json. */
export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Allot's version, from its package.json (`allot --version`). */
export function packageVersion(): string {
  return readPackage(projectRoot)?.version ?? '0.0.0';
}

/** A path as the operator typed it, made absolute against the project root (absolute paths are kept). */
export function resolveFromProjectRoot(typed: string): string {
  return path.resolve(projectRoot, typed);
}
