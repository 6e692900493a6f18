import { afterAll, beforeAll, expect, it } from 'vitest';
import { signInRateLimitDefault } from '../../../src/dashboard/security';
import { startRunningAllot } from '../../support/running-allot';

// Sign-in is rate-limited per address: guessing links is hopeless anyway (256-bit tokens), but every
// attempt costs a lookup, so an address gets `signInRateLimitDefault.attempts` per window, then 429.

let allot: Awaited<ReturnType<typeof startRunningAllot>>;
beforeAll(async () => {
  allot = await startRunningAllot({ DASHBOARD_URL: 'https://allot.example.com' });
});
afterAll(async () => allot?.stop());

it('one address gets a limited number of sign-in attempts, then 429 with a page saying to wait', async () => {
  const attempt = (index: number) =>
    fetch(`${allot.baseUrl}/dashboard/signin/${String(index).padStart(43, 'A')}`, { redirect: 'manual' });
  const statuses: number[] = [];
  for (let index = 0; index < signInRateLimitDefault.attempts; index++) statuses.push((await attempt(index)).status);
  expect(new Set(statuses)).toEqual(new Set([404]));
  const limited = await attempt(999);
  expect(limited.status).toBe(429);
  expect(await limited.text()).toContain('too many sign-in attempts');
  expect(limited.headers.get('ratelimit-policy')).toContain(`${signInRateLimitDefault.attempts}`);
  // The confirmation's POST counts against the same address.
  const posted = await fetch(`${allot.baseUrl}/dashboard/signin`, { method: 'POST', redirect: 'manual' });
  expect(posted.status).toBe(429);
});

it('a reverse proxy on this machine is not one address: the address it appended to X-Forwarded-For is', async () => {
  const fromProxy = await fetch(`${allot.baseUrl}/dashboard/signin/${'B'.repeat(43)}`, {
    headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' },
    redirect: 'manual',
  });
  expect(fromProxy.status).toBe(404);
});
