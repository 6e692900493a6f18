import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import type { TestClock } from '../../../src/lib/clock';
import { type Ctx, operatorActor } from '../../../src/lib/context';
import type { RunningAllot } from '../../../src/main';
import type { Member } from '../../../src/members/members.repository';
import { issueSignInLink } from '../../../src/sessions/sessions.usecases';
import { freePort, repoRoot } from '../../start/spawn';
import { launchChromium } from '../../support/chromium';
import { startRunningAllot } from '../../support/running-allot';

// Allot started as `npm start` starts it (in this process, on a fresh database), with the dashboard on
// at DASHBOARD_URL = its own address, and headless Chromium signing people in from their links, each in
// a browser context of their own (their own cookies). Screenshots go to test-results/dashboard/.

/** Screenshots of the run (gitignored); the README's pictures are copied from here. */
export const screenshotsDir = path.join(repoRoot, 'test-results', 'dashboard');

/** The text of a part of a page as the browser lays it out, what a person reads. */
export function shown(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is the text as laid out, what a person reads.
  return locator.innerText();
}

/** The text of a page's main content. */
export function mainText(page: Page): Promise<string> {
  return shown(page.locator('main'));
}

export interface DashboardRun {
  running: RunningAllot;
  /** http://127.0.0.1:<port>, which is also DASHBOARD_URL. */
  baseUrl: string;
  ctx: Ctx & { clock: TestClock };
  browser: Browser;
  /** A fresh one-time sign-in link for a member, as `allot dashboard link` makes one. */
  link(member: Member): Promise<string>;
  /** A new browser (own cookies) that opens the member's link and lands on their Me page. */
  signIn(member: Member): Promise<Page>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startDashboardRun(env: Record<string, string> = {}): Promise<DashboardRun> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const allot = await startRunningAllot({ PORT: String(port), HOST: '127.0.0.1', DASHBOARD_URL: baseUrl, ...env });
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    await allot.stop();
    throw error;
  }
  await mkdir(screenshotsDir, { recursive: true });
  const ctx = allot.running.deps.ctx as Ctx & { clock: TestClock };
  const link = async (member: Member) => {
    const issued = await issueSignInLink(ctx, {
      orgId: member.orgId,
      memberId: member.id,
      via: 'cli',
      actor: operatorActor,
      dashboardUrl: baseUrl,
    });
    if (!issued.ok) throw new Error(`link: ${issued.failure}`);
    return issued.value.url;
  };
  return {
    running: allot.running,
    baseUrl,
    ctx,
    browser,
    link,
    async signIn(member) {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      await page.goto(await link(member));
      await page.waitForURL(`${baseUrl}/dashboard/me`);
      return page;
    },
    async screenshot(page, name) {
      await page.screenshot({ path: path.join(screenshotsDir, `${name}.png`), fullPage: true });
    },
    async close() {
      await browser.close().catch(() => {});
      await allot.stop();
    },
  };
}
