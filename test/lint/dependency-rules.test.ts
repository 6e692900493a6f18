import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnProcess, tempDir, withTimeout } from '../start/spawn';

// The layer rules of .dependency-cruiser.cjs, run by `npm run lint`, on a tiny tree of files laid out like
// src/ in a temporary folder: the repository's own config and dependency-cruiser, so what passes or fails
// here is what CI checks. Nothing is written under src/, so test files running beside this one never see it.

const configPath = path.join(repoRoot, '.dependency-cruiser.cjs');
const depcruiseBin = path.join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const domainFolders = [
  'members',
  'ledger',
  'approvals',
  'usage',
  'digest',
  'allowances',
  'lib',
  'notify',
  'db',
  'config',
  'reservations',
  'sessions',
] as const;
const adapterFolders = ['chat', 'slack', 'teams', 'cli', 'http', 'dashboard'] as const;

/** Imports every rule allows: adapters on the domain, the domain on lib and notify, lib on config. */
const rightFiles: Record<string, string> = {
  'src/config/config.ts': 'export const port = 3000;\n',
  // The table index drizzle-kit reads names adapters' tables too; nothing imports it.
  'src/db/schema.ts': "export * from '../chat/replies';\nexport * from '../ledger/ledger.usecases';\n",
  'src/lib/clock.ts': "import { port } from '../config/config';\nexport const now = () => port;\n",
  'src/notify/notifier.ts': "import { now } from '../lib/clock';\nexport const notify = () => now();\n",
  'src/ledger/ledger.usecases.ts':
    "import path from 'node:path';\nimport { now } from '../lib/clock';\nimport { notify } from '../notify/notifier';\n" +
    'export const grant = () => path.join(String(now()), String(notify()));\n',
  'src/chat/replies.ts': "import { grant } from '../ledger/ledger.usecases';\nexport const reply = () => grant();\n",
  'src/slack/slack.listeners.ts': "import { reply } from '../chat/replies';\nexport const onCommand = () => reply();\n",
  'src/teams/teams.handler.ts':
    "import type { reply } from '../chat/replies';\nexport type OnMessage = typeof reply;\nexport const onMessage = 1;\n",
  'src/cli/main.ts': "import { grant } from '../ledger/ledger.usecases';\nexport const run = () => grant();\n",
  'src/http/server.ts': "import { grant } from '../ledger/ledger.usecases';\nexport const serve = () => grant();\n",
  // The dashboard clicks chat's buttons and reads the domain.
  'src/dashboard/pages.ts':
    "import { reply } from '../chat/replies';\nimport { grant } from '../ledger/ledger.usecases';\n" +
    'export const page = () => [reply(), grant()];\n',
  'src/main.ts':
    "import { run } from './cli/main';\nimport { serve } from './http/server';\nimport { onCommand } from './slack/slack.listeners';\n" +
    "import { onMessage } from './teams/teams.handler';\nexport const all = [run, serve, onCommand, onMessage];\n",
};

/** Adapter files the wrong imports point at, by folder. */
const adapterFile: Record<(typeof adapterFolders)[number], string> = {
  chat: 'chat/replies',
  slack: 'slack/slack.listeners',
  teams: 'teams/teams.handler',
  cli: 'cli/main',
  http: 'http/server',
  dashboard: 'dashboard/pages',
};

interface WrongImport {
  file: string;
  source: string;
  rule: string;
  /** How dependency-cruiser's err output names each violation the file makes (a cycle: in its first file). */
  lines: string[];
}

/** One wrong import per rule (and per domain folder), each in a scratch file of its own. */
function wrongImports(): WrongImport[] {
  const wrong: WrongImport[] = domainFolders.map((folder, index) => {
    const adapter = adapterFolders[index % adapterFolders.length]!;
    const file = `src/${folder}/__scratch-wrong.ts`;
    // Every other one is type-only: a layer that names another's types depends on it too.
    const statement = index % 2 === 0 ? 'import' : 'import type';
    return {
      file,
      source: `${statement} * as adapter from '../${adapterFile[adapter]}';\nexport type Adapter = typeof adapter;\n`,
      rule: 'domain-not-to-adapters',
      lines: [
        `error domain-not-to-adapters: ${file} → src/${adapterFile[adapter]}.ts`,
        // src/lib is in the domain and a leaf besides: its wrong import breaks both rules.
        ...(folder === 'lib' ? [`error lib-is-a-leaf: ${file} → src/${adapterFile[adapter]}.ts`] : []),
      ],
    };
  });
  const simple = (file: string, target: string, rule: string): WrongImport => ({
    file,
    source: `import * as other from '${path.posix.relative(path.posix.dirname(file), target)}';\nexport const it = other;\n`,
    rule,
    lines: [`error ${rule}: ${file} → ${target}.ts`],
  });
  wrong.push(
    simple('src/chat/__scratch-slack.ts', 'src/slack/slack.listeners', 'chat-not-to-platforms'),
    simple('src/chat/__scratch-teams.ts', 'src/teams/teams.handler', 'chat-not-to-platforms'),
    simple('src/slack/__scratch-teams.ts', 'src/teams/teams.handler', 'slack-not-to-teams'),
    simple('src/teams/__scratch-slack.ts', 'src/slack/slack.listeners', 'teams-not-to-slack'),
    simple('src/dashboard/__scratch-slack.ts', 'src/slack/slack.listeners', 'dashboard-not-to-platforms'),
    simple('src/dashboard/__scratch-cli.ts', 'src/cli/main', 'dashboard-not-to-platforms'),
    simple('src/lib/__scratch-ledger.ts', 'src/ledger/ledger.usecases', 'lib-is-a-leaf'),
    simple('src/lib/__scratch-notify.ts', 'src/notify/notifier', 'lib-is-a-leaf'),
    simple('src/digest/__scratch-test.ts', 'test/support/helper', 'src-stays-in-src'),
    simple('src/usage/__scratch-bench.ts', 'bench/figures', 'src-stays-in-src'),
    simple('src/http/__scratch-scripts.ts', 'scripts/build', 'src-stays-in-src'),
    simple('src/gateway/__scratch-ledger.ts', 'src/ledger/ledger.usecases', 'gateway-client-stands-alone'),
    simple('src/usage/__scratch-schema.ts', 'src/db/schema', 'schema-index-for-drizzle-kit-only'),
    {
      file: 'src/members/__scratch-missing.ts',
      source: "import { gone } from './no-such-file';\nexport const it = gone;\n",
      rule: 'no-unresolvable',
      lines: ['error no-unresolvable: src/members/__scratch-missing.ts → ./no-such-file'],
    },
    {
      file: 'src/approvals/__scratch-cycle-a.ts',
      source: "import { b } from './__scratch-cycle-b';\nexport const a = () => b;\n",
      rule: 'no-circular',
      lines: ['error no-circular: src/approvals/__scratch-cycle-a.ts → '],
    },
    {
      file: 'src/approvals/__scratch-cycle-b.ts',
      source: "import { a } from './__scratch-cycle-a';\nexport const b = () => a;\n",
      rule: 'no-circular',
      lines: [],
    },
  );
  return wrong;
}

/** Files outside src/ that the wrong imports reach (so only the rule, not resolution, refuses them). */
const outsideFiles: Record<string, string> = {
  'test/support/helper.ts': 'export const helper = 1;\n',
  'bench/figures.ts': 'export const figures = 1;\n',
  'scripts/build.ts': 'export const build = 1;\n',
};

let right: Awaited<ReturnType<typeof tempDir>>;
let wrong: Awaited<ReturnType<typeof tempDir>>;

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  await copyFile(path.join(repoRoot, 'tsconfig.json'), path.join(root, 'tsconfig.json'));
  for (const [file, source] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), source);
  }
}

/** `depcruise src --config <the repository's config>` in a folder, as `npm run lint` runs it. */
async function depcruise(cwd: string): Promise<{ code: number | null; output: string }> {
  const spawned = spawnProcess(process.execPath, [depcruiseBin, 'src', '--config', configPath], {}, { cwd });
  const { code } = await withTimeout(spawned.exited, 30_000, 'depcruise');
  return { code, output: spawned.stdout() + spawned.stderr() };
}

beforeAll(async () => {
  right = await tempDir('allot-depcruise-right-');
  wrong = await tempDir('allot-depcruise-wrong-');
  const wrongFiles = Object.fromEntries(wrongImports().map((entry) => [entry.file, entry.source]));
  await Promise.all([
    writeTree(right.path, rightFiles),
    writeTree(wrong.path, { ...rightFiles, ...outsideFiles, ...wrongFiles }),
  ]);
});

afterAll(async () => {
  await Promise.all([right?.remove(), wrong?.remove()]);
});

describe('the dependency rules of npm run lint', () => {
  it('npm run lint runs dependency-cruiser on src/ with the repository config', async () => {
    const manifest = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.lint).toContain('depcruise src --config .dependency-cruiser.cjs');
  });

  it('a wrong import fails the run, naming its rule; the right imports beside it do not', async () => {
    const [rightRun, wrongRun] = await Promise.all([depcruise(right.path), depcruise(wrong.path)]);

    expect(rightRun.output).toContain('no dependency violations found');
    expect(rightRun.code).toBe(0);

    const expected = wrongImports();
    expect(wrongRun.code).not.toBe(0);
    for (const entry of expected) {
      for (const line of entry.lines) expect(wrongRun.output, entry.rule).toContain(line);
    }
    // Exactly the violations above: none of the right imports is reported.
    const count = expected.reduce((sum, entry) => sum + entry.lines.length, 0);
    expect(wrongRun.output).toContain(`x ${count} dependency violations (${count} errors, 0 warnings)`);
    for (const rule of new Set(expected.map((entry) => entry.rule))) {
      expect(wrongRun.output).toMatch(new RegExp(`error ${rule}: `));
    }
  });
});
