import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Real processes for the tests that are about processes: `npm start`, the `allot` bin, a second process
// on the same data folder, a start killed half-way. Each gets only the environment the test gives it.

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Variables a child must not inherit from the test run (it gets exactly what the test passes). */
const inheritedNever = /^(DATABASE_URL|DATA_DIR|HOST|PORT|LOG_LEVEL|ALLOT_ADMINS|SLACK_.*|MICROSOFT_.*|TEAMS_.*)$/;

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
/** Children started in a process group of their own (`detached`), killed as a group. */
const leaders = new Set<ChildProcess>();

export interface SpawnOptions {
  cwd?: string;
  /**
   * In a process group of its own, as a terminal runs a command: `process.kill(-child.pid, signal)`
   * then reaches every process in it at once, as Ctrl-C does.
   */
  detached?: boolean;
}

export function spawnProcess(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  options: SpawnOptions = {},
): Spawned {
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !inheritedNever.test(key)) childEnv[key] = value;
  }
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  running.add(child);
  if (options.detached) leaders.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      leaders.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The server as `npm start` runs it (through npm, so signals take the same path as in production). */
export function spawnNpmStart(env: Record<string, string | undefined>, options: { detached?: boolean } = {}): Spawned {
  return spawnProcess('npm', ['start', '--silent'], env, options);
}

/** Ctrl-C in a terminal: SIGINT to every process of the child's group (spawned with `detached`). */
export function interruptGroup(spawned: Spawned): void {
  const pid = spawned.child.pid;
  if (pid === undefined || !leaders.has(spawned.child)) throw new Error('interruptGroup needs a detached child');
  process.kill(-pid, 'SIGINT');
}

/**
 * The server as one node process (no npm or tsx parent in between), so a SIGKILL reaches the process
 * that holds the data folder, and the pid in its lock file is the child's own.
 */
export function spawnServer(env: Record<string, string | undefined>): Spawned {
  return spawnProcess(process.execPath, ['--import', 'tsx', 'src/main.ts'], env);
}

/** The operator CLI exactly as `npx allot` runs it (from the repository's root, unless `cwd` says otherwise). */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const spawned = spawnProcess(process.execPath, [path.join(repoRoot, 'bin/allot.js'), ...args], env, options);
  const { code } = await withTimeout(spawned.exited, 60_000, `allot ${args.join(' ')}`);
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

/** Any command run from the repository root (e.g. an npm script), with the test's environment only. */
export async function runCommand(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const spawned = spawnProcess(command, args, env);
  const { code } = await withTimeout(spawned.exited, 60_000, `${command} ${args.join(' ')}`);
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

/** Kills whatever a failed test left running, so no child outlives the suite (a detached one with its group). */
export function killAll(): void {
  for (const child of running) {
    if (leaders.has(child) && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    } else {
      // `npm start` runs the server as its child: SIGKILL reaches npm alone, so its descendants first.
      for (const pid of child.pid === undefined ? [] : descendantsOf(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      child.kill('SIGKILL');
    }
  }
}

/** The processes below `pid` (children, theirs, …), from /proc; none where /proc is not Linux's. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const entry of entries) {
    try {
      // The parent id is the second field after the command name, which is in parentheses.
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      parents.set(parent, [...(parents.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended meanwhile.
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = parents.get(queue.pop()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function tempDir(prefix = 'allot-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls /healthz until it answers 200; fails early if the process exits first. */
export async function waitForHealthy(spawned: Spawned, port: number, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  void spawned.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(`the process exited before answering /healthz:\n${spawned.stderr()}\n${spawned.stdout()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no 200 from /healthz within ${timeoutMs} ms:\n${spawned.stderr()}\n${spawned.stdout()}`);
}
