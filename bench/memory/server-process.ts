// A server process for the benches: `node dist/main.js` (compiled, as `npm start` runs it) or the sources
// through tsx (as `npm run dev` does), its start-up time to the "Allot is listening" log line, and its
// memory from /proc.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Memory {
  rssMb: number;
  peakMb: number;
}

/** Memory of a process from /proc/<pid>/status: VmRSS (resident now) and VmHWM (its peak), in MB. */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

export interface Server {
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  /** From spawn to the "Allot is listening" line, in ms. */
  listeningMs: number;
  /** Resident memory at the moment /healthz first answered 200 (VmHWM: the start's peak). */
  atStart: Memory;
  stop(): Promise<void>;
}

/** Every server this run started, so none outlives it, whatever happens. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts the server in its own process: compiled (node dist/main.js) or through tsx. */
export async function startServer(env: Record<string, string>, runner: 'compiled' | 'tsx'): Promise<Server> {
  const port = await freePort();
  const args = runner === 'compiled' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let listeningMs = Number.NaN;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    if (Number.isNaN(listeningMs) && buffered.includes('"msg":"Allot is listening"')) {
      listeningMs = performance.now() - started;
    }
    buffered = buffered.slice(-4_096);
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    if (attempt > 1_800) throw new Error('the server did not answer /healthz within 3 minutes');
    try {
      if ((await fetch(`${baseUrl}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    baseUrl,
    listeningMs,
    atStart: memoryOf(pid),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
