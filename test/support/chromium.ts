import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

// Debian's Chromium for the suites that drive a browser (test/e2e/playground, test/e2e/dashboard),
// through playwright-core, which never downloads a browser. `.ci/run` installs it when missing.

/** Debian's Chromium. */
export const chromiumPath = '/usr/bin/chromium';

/** Flags that keep Chromium off the network and out of the sandbox a CI container cannot give it. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium, or a clear failure saying how to install it. */
export function requireChromium(): string {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}: run \`apt-get install -y chromium\` (.ci/run does it when missing).`,
    );
  }
  return chromiumPath;
}

/** Headless Chromium with the network-off flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: requireChromium(), args: chromiumArgs });
}
