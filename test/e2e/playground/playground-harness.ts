import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { createDatabase, type Database } from '../../../src/db/client';
import {
  freePort,
  repoRoot,
  type Spawned,
  spawnProcess,
  tempDir,
  waitForHealthy,
  withTimeout,
} from '../../start/spawn';
import { chromiumArgs, requireChromium } from '../../support/chromium';
import { createTestDatabase, onPostgres } from '../../support/db';

// Microsoft's own Teams emulator, the Microsoft 365 Agents Playground, driven through its web page in
// headless Chromium, against Allot running as its own process. Only the far end changes from
// production: the Playground stands in for Teams (client and Bot Connector service) on this machine.

/** Preload that stops a server whose test worker died without stopping it (see the file). */
const exitWithParent = path.join(path.dirname(fileURLToPath(import.meta.url)), 'exit-with-parent.cjs');

/** Screenshots and logs of the run, kept for people (gitignored; CI can publish the folder). */
export const outputDir = path.join(repoRoot, 'test-results', 'playground');

/** Longest wait for anything the page should show after an action (a reply, a proactive card). */
export const pageWaitMs = 30_000;

/** Longest wait for a Playground page to load its 9 MB script and connect to Allot (slow on a busy CI machine). */
const pageLoadMs = 60_000;

/**
 * One of the Playground's mock users. `aadObjectId` is deliberately not a GUID in the Playground
 * (13 hex digits in the last group), so Allot cannot name them as admins by `teams:<id>`; the email can.
 */
export interface PlaygroundUser {
  id: string;
  name: string;
  email: string;
  aadObjectId: string;
  givenName: string;
  surname: string;
}

function user(index: number, givenName: string, surname: string, email: string): PlaygroundUser {
  return {
    id: `user-id-${index}`,
    name: `${givenName} ${surname}`,
    email,
    aadObjectId: `00000000-0000-0000-0000-000000000002${index}`,
    givenName,
    surname,
  };
}

/**
 * The users of the Playground's built-in configuration (@microsoft/m365agentsplayground 0.2.x,
 * `defaultConfigFileContent` in dist/index.js): Alex Wilber is the current user, the others are in
 * every chat and in the @ list. The list leaves out the current user, so nobody can @mention themselves.
 */
export const playgroundUsers = {
  alex: user(0, 'Alex', 'Wilber', 'alexw@example.com'),
  megan: user(1, 'Megan', 'Bowen', 'meganb@example.com'),
  adele: user(2, 'Adele', 'Vance', 'adelev@example.com'),
  isaiah: user(3, 'Isaiah', 'Langer', 'isaiahl@example.com'),
  patti: user(4, 'Patti', 'Fernandez', 'pattif@example.com'),
  lynne: user(5, 'Lynne', 'Robbins', 'lynner@example.com'),
} as const;

/** The bot as the Playground's default configuration names it (the first entry of its @ list). */
export const playgroundBotName = 'Test Bot';
const playgroundTenantId = '00000000-0000-0000-0000-0000000000001';
const playgroundBotId = '00000000-0000-0000-0000-00000000000011';

/**
 * The Playground's configuration file with `current` as the person at the keyboard and everyone else
 * as the other users (the schema asks for at least five), same tenant and bot as the built-in one. It
 * is how the Playground lets a second person use the same bot: a second Playground with its own file.
 * YAML is a superset of JSON, so the file is written as JSON.
 */
function configFileFor(current: PlaygroundUser, label: string): string {
  const asConfigUser = (person: PlaygroundUser) => ({
    id: person.id,
    name: person.name,
    userPrincipleName: person.email,
    aadObjectId: person.aadObjectId,
    givenName: person.givenName,
    surname: person.surname,
    email: person.email,
  });
  return JSON.stringify({
    version: '0.1.1',
    tenantId: playgroundTenantId,
    bot: { id: playgroundBotId, name: playgroundBotName },
    currentUser: asConfigUser(current),
    users: Object.values(playgroundUsers)
      .filter((person) => person.id !== current.id)
      .map(asConfigUser),
    personalChat: { id: `personal-chat-${label}` },
    groupChat: { id: `group-chat-${label}`, name: 'Group Chat' },
    team: { id: `team-${label}`, name: 'My Team', aadGroupId: '00000000-0000-0000-0000-000000000031', channels: [] },
  });
}

/** The Playground's CLI, or a clear failure saying how to get it (the suite must never skip silently). */
export function playgroundCliPath(): string {
  try {
    return createRequire(import.meta.url).resolve('@microsoft/m365agentsplayground/cli.js');
  } catch {
    throw new Error(
      'The Microsoft 365 Agents Playground is not installed (devDependency @microsoft/m365agentsplayground): run `npm ci`.',
    );
  }
}

/** Allot's database for the run: a PGlite folder, or a fresh Postgres database with DATABASE_URL. */
async function allotDatabase() {
  if (onPostgres) {
    const database = await createTestDatabase({ poolMax: 2 });
    return {
      kind: 'postgres' as const,
      env: { DATABASE_URL: database.url },
      /** The same database Allot uses (on Postgres, readable while Allot runs). */
      open: async (): Promise<Database> => database.db,
      close: () => database.close(),
    };
  }
  const dir = await tempDir('allot-playground-');
  const dataDir = path.join(dir.path, 'data');
  let opened: Database | undefined;
  return {
    kind: 'pglite' as const,
    env: { DATA_DIR: dataDir },
    /** PGlite serves one process: open only once Allot has stopped and released the folder. */
    open: async (): Promise<Database> => {
      opened ??= await createDatabase({ dataDir });
      return opened;
    },
    close: async () => {
      await opened?.close();
      await dir.remove();
    },
  };
}

interface PlaygroundProcess {
  user: PlaygroundUser;
  spawned: Spawned;
  logFile: string;
}

/** Starts a Playground on a free port, talking to `appEndpoint`, as `current` (default: the built-in Alex). */
async function startPlaygroundProcess(input: {
  cli: string;
  appEndpoint: string;
  workDir: string;
  current: PlaygroundUser | 'default';
  label: string;
}): Promise<PlaygroundProcess> {
  const port = await freePort();
  const logFile = path.join(outputDir, `playground-${input.label}.log`);
  // The Playground reads `.m365agentsplayground.yml` from its working folder unless told otherwise; a
  // path to no file gives its built-in configuration.
  const configFile = path.join(input.workDir, `playground-${input.label}.yml`);
  if (input.current !== 'default') await writeFile(configFile, configFileFor(input.current, input.label));
  const spawned = spawnProcess(
    process.execPath,
    [
      '--require',
      exitWithParent,
      input.cli,
      '--app-endpoint',
      input.appEndpoint,
      '--channel-id',
      'msteams',
      '--port',
      String(port),
      '--dt',
    ],
    {
      TEAMSAPPTESTER_BROWSER: 'none',
      M365_AGENTS_PLAYGROUND_CONFIG_PATH: configFile,
      M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
    },
  );
  const current = input.current === 'default' ? playgroundUsers.alex : input.current;
  return { user: current, spawned, logFile };
}

/**
 * Waits until the Playground serves its page and returns its address; fails at once, pointing at its
 * log, if it exits first. The port is read from its "Listening on <port>" line, because it moves to a
 * random port when the one it was given is taken.
 */
async function waitForPlayground(playground: PlaygroundProcess, timeoutMs = 60_000): Promise<string> {
  let exited = false;
  void playground.spawned.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the Playground exited: see ${playground.logFile}\n${playground.spawned.stderr()}`);
    const port = /Listening on (\d+)/.exec(playground.spawned.stdout())?.[1];
    if (port) {
      const url = `http://127.0.0.1:${port}/`;
      try {
        if ((await fetch(url)).status === 200) return url;
      } catch {
        // Not answering yet.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Playground did not serve its page within ${timeoutMs} ms (see ${playground.logFile})`);
}

/** A piece of a message typed into the compose box: text, or a person picked from the @ list. */
export type MessagePart = string | { mention: string };

/** The person (or bot) named `name`, picked from the Playground's @ list. */
export const at = (name: string): MessagePart => ({ mention: name });

/** One person's Playground page: the chat list, the compose box, and the Adaptive Cards it renders. */
export class PlaygroundPage {
  constructor(
    readonly user: PlaygroundUser,
    readonly page: Page,
  ) {}

  /** Every Adaptive Card rendered in the conversation on screen (the Playground renders with adaptivecards). */
  cards(): Locator {
    return this.page.locator('.ac-adaptiveCard');
  }

  /** Opens a conversation from the left rail: 'Personal Chat' (with the bot) or 'Group Chat'. */
  async open(conversation: 'Personal Chat' | 'Group Chat'): Promise<void> {
    await this.page.getByRole('treeitem', { name: conversation }).click();
    await this.page.getByRole('textbox').last().waitFor({ state: 'visible' });
  }

  /**
   * Types a message as a person would (mentions picked from the @ list the Playground opens on `@`),
   * sends it with Enter, and returns the bot's next card in this conversation once it is rendered.
   */
  async send(parts: MessagePart[]): Promise<Locator> {
    const compose = this.page.getByRole('textbox').last();
    await compose.click();
    for (const part of parts) {
      if (typeof part === 'string') {
        // One input event for the whole text, as a paste would be; mentions below are typed key by key.
        await this.page.keyboard.insertText(part);
        continue;
      }
      await this.page.keyboard.type(`@${part.mention.slice(0, 3)}`);
      await this.page.getByRole('menuitem', { name: part.mention }).click();
    }
    const before = await this.cards().count();
    await this.page.keyboard.press('Enter');
    const reply = this.cards().nth(before);
    await reply.waitFor({ state: 'visible', timeout: pageWaitMs });
    return reply;
  }

  /** The card in this conversation that shows `text`, once it is rendered (for messages the bot sends unasked). */
  async cardShowing(text: string | RegExp): Promise<Locator> {
    const card = this.cards().filter({ hasText: text }).last();
    await card.waitFor({ state: 'visible', timeout: pageWaitMs });
    return card;
  }

  /** Saves a screenshot of the whole page as `<name>.png` in the output folder. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(outputDir, `${name}.png`);
    await this.page.bringToFront();
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }
}

export interface PlaygroundRun {
  databaseKind: 'pglite' | 'postgres';
  allot: Spawned;
  /** The Playground's default user, Alex Wilber, named an admin by email. */
  alex: PlaygroundPage;
  /** A second Playground whose current user is Patti Fernandez, also an admin by email: she approves. */
  patti: PlaygroundPage;
  /** Stops Allot (SIGTERM) and returns its exit code; the ledger can then be read with `database()`. */
  stopAllot(): Promise<number | null>;
  /** Allot's database (on PGlite only after `stopAllot`). */
  database(): Promise<Database>;
  close(): Promise<void>;
}

/**
 * Starts Allot (`node --import tsx src/main.ts`, the process `npm start` runs) on a free port on
 * 127.0.0.1, with no Microsoft app id, `TEAMS_ALLOW_UNAUTHENTICATED=true` and two admins by email; two
 * Playgrounds pointed at it (Alex, the default user, and Patti); and one headless Chromium with a page
 * per Playground. `close` stops everything it started, also when a step failed half-way.
 */
export async function startPlaygroundRun(): Promise<PlaygroundRun> {
  const executablePath = requireChromium();
  const cli = playgroundCliPath();
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });

  const startedAt = Date.now();
  const timings: string[] = [];
  const mark = (what: string) => timings.push(`${((Date.now() - startedAt) / 1000).toFixed(1)} s  ${what}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };
  try {
    const database = await allotDatabase();
    cleanups.push(() => database.close());
    const work = await tempDir('allot-playground-work-');
    cleanups.push(() => work.remove());

    const port = await freePort();
    // The server as `npm start` runs it (one node process, as spawnServer starts it), plus the preload.
    const allot = spawnProcess(process.execPath, ['--require', exitWithParent, '--import', 'tsx', 'src/main.ts'], {
      ...database.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TEAMS_ALLOW_UNAUTHENTICATED: 'true',
      ALLOT_ADMINS: `${playgroundUsers.alex.email},${playgroundUsers.patti.email}`,
    });
    const saveAllotLog = () => writeFile(path.join(outputDir, 'allot.log'), `${allot.stdout()}\n${allot.stderr()}`);
    const stopAllot = async () => {
      allot.child.kill('SIGTERM');
      const { code } = await withTimeout(allot.exited, 30_000, 'Allot to stop');
      await saveAllotLog();
      return code;
    };
    cleanups.push(async () => {
      allot.child.kill('SIGKILL');
      await allot.exited;
      await saveAllotLog();
    });

    const appEndpoint = `http://127.0.0.1:${port}/api/messages`;
    const playgrounds = await Promise.all([
      startPlaygroundProcess({ cli, appEndpoint, workDir: work.path, current: 'default', label: 'alex' }),
      startPlaygroundProcess({ cli, appEndpoint, workDir: work.path, current: playgroundUsers.patti, label: 'patti' }),
    ]);
    for (const playground of playgrounds) {
      cleanups.push(async () => {
        playground.spawned.child.kill('SIGKILL');
        await playground.spawned.exited;
      });
    }
    const launching = chromium.launch({ executablePath, args: chromiumArgs });
    launching.catch(() => {}); // Awaited below; this only keeps an early failure elsewhere from leaving it unhandled.
    cleanups.push(async () => (await launching).close());
    const [urls] = await Promise.all([
      Promise.all(
        playgrounds.map(async (playground) => {
          const url = await waitForPlayground(playground);
          mark(`the ${playground.user.name} Playground serves ${url}`);
          return url;
        }),
      ),
      waitForHealthy(allot, port, 120_000).then(() => mark('Allot answers /healthz')),
      launching.then(() => mark('Chromium is up')),
    ]);
    const browser: Browser = await launching;
    const pages = await Promise.all(
      playgrounds.map(async (playground, index) => {
        const context: BrowserContext = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
        const page = await context.newPage();
        page.setDefaultTimeout(pageWaitMs);
        await page.goto(urls[index]!, { timeout: pageLoadMs });
        // The current user's name in the top bar: the Playground has read its configuration. "Connected."
        // in its log panel: it reached Allot's /api/messages.
        await page.getByRole('toolbar').getByText(playground.user.name).waitFor({ timeout: pageLoadMs });
        await page.getByText('Connected.', { exact: true }).waitFor({ timeout: pageLoadMs });
        return new PlaygroundPage(playground.user, page);
      }),
    );
    const [alex, patti] = pages as [PlaygroundPage, PlaygroundPage];
    mark('both pages are connected');
    await writeFile(path.join(outputDir, 'start-up.txt'), `${timings.join('\n')}\n`);

    return {
      databaseKind: database.kind,
      allot,
      alex,
      patti,
      stopAllot,
      database: () => database.open(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
