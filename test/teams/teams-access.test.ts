import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config';
import { describeTeamsAccess, teamsAccess } from '../../src/teams/teams.access';

function configOf(env: Record<string, string>) {
  const parsed = parseConfig(env);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config;
}

/** The start-log lines describeTeamsAccess writes, as pino writes them (one JSON object per line). */
function startLog(env: Record<string, string>): { level: number; msg: string }[] {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  describeTeamsAccess(configOf(env), pino({ level: 'info' }, sink));
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

const appId = {
  MICROSOFT_APP_ID: '3f0c6f4e-2a52-4c59-9d0b-5b3a4e2f7a10',
  MICROSOFT_APP_PASSWORD: 'secret',
  MICROSOFT_APP_TENANT_ID: 'f1e2d3c4-0000-4000-8000-00000000a11c',
};

it('without an app id Teams is refused unless TEAMS_ALLOW_UNAUTHENTICATED opts in to loopback; an app id decides alone', () => {
  expect(teamsAccess(configOf({}))).toBe('refused');
  expect(teamsAccess(configOf({ TEAMS_ALLOW_UNAUTHENTICATED: 'false' }))).toBe('refused');
  expect(teamsAccess(configOf({ TEAMS_ALLOW_UNAUTHENTICATED: 'true' }))).toBe('loopback_only');
  expect(teamsAccess(configOf(appId))).toBe('authenticated');
  expect(teamsAccess(configOf({ ...appId, TEAMS_ALLOW_UNAUTHENTICATED: 'true' }))).toBe('authenticated');
});

it('the start log says in one line who may post to /api/messages', () => {
  const refused = startLog({});
  expect(refused).toHaveLength(1);
  expect(refused[0]!.msg).toMatch(/^Teams is off: POST \/api\/messages answers 401\. Set MICROSOFT_APP_ID/);

  const loopback = startLog({ TEAMS_ALLOW_UNAUTHENTICATED: 'true' });
  expect(loopback).toHaveLength(1);
  expect(loopback[0]!.level).toBe(40); // warn
  expect(loopback[0]!.msg).toContain('UNAUTHENTICATED activities on POST /api/messages from loopback addresses only');
  expect(loopback[0]!.msg).not.toContain('\n');

  const configured = startLog(appId);
  expect(configured).toHaveLength(1);
  expect(configured[0]!.msg).toBe('Teams is configured on POST /api/messages');
});
