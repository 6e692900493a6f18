import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { AppManifestUtils } from '@microsoft/app-manifest';
import AdmZip from 'adm-zip';
import { afterAll, expect, it } from 'vitest';
import { buildManifest, packageTeamsApp, placeholderIds } from '../../teams/package';
import { runCommand } from '../start/spawn';

type Manifest = Parameters<typeof AppManifestUtils.validateAgainstSchema>[0];

const manifestPath = path.resolve(import.meta.dirname, '../../teams/manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown> & {
  $schema: string;
  manifestVersion: string;
  bots: { botId: string; scopes: string[]; commandLists: { commands: { title: string }[] }[] }[];
};
const outFolder = mkdtempSync(path.join(tmpdir(), 'allot-teams-package-'));
afterAll(() => rmSync(outFolder, { recursive: true, force: true }));

function pngSize(buffer: Buffer): { width: number; height: number; colourType: number } {
  expect(buffer.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20), colourType: buffer[25]! };
}

/** RGBA pixels of an unfiltered 8-bit RGBA PNG (as teams/icons.ts writes them). */
function outlinePixels(png: Buffer): [number, number, number, number][] {
  const { width, height } = pngSize(png);
  const data: Buffer[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    if (type === 'IDAT') data.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const rows = inflateSync(Buffer.concat(data));
  const pixels: [number, number, number, number][] = [];
  for (let y = 0; y < height; y += 1) {
    const row = y * (width * 4 + 1);
    expect(rows[row]).toBe(0);
    for (let x = 0; x < width; x += 1) {
      const at = row + 1 + x * 4;
      pixels.push([rows[at]!, rows[at + 1]!, rows[at + 2]!, rows[at + 3]!]);
    }
  }
  return pixels;
}

it('the Teams manifest is valid against the schema of its manifestVersion', async () => {
  expect(manifest.$schema).toBe(
    `https://developer.microsoft.com/json-schemas/teams/v${manifest.manifestVersion}/MicrosoftTeams.schema.json`,
  );
  expect(Number(manifest.manifestVersion.split('.')[1])).toBeGreaterThanOrEqual(17);
  expect(await AppManifestUtils.validateAgainstSchema(manifest as unknown as Manifest)).toEqual([]);
});

it('the validation catches a bot id that is not a GUID and an unknown scope', async () => {
  const broken = structuredClone(manifest);
  broken.bots[0]!.botId = 'not-a-guid';
  broken.bots[0]!.scopes = ['personal', 'everywhere'];
  const errors = await AppManifestUtils.validateAgainstSchema(broken as unknown as Manifest);
  expect(errors.length).toBeGreaterThanOrEqual(2);
});

it('the bot works in personal chats, teams and group chats and lists the commands', () => {
  const bot = manifest.bots[0]!;
  expect(bot.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
  const titles = bot.commandLists.flatMap((list) => list.commands.map((command) => command.title));
  expect(titles).toEqual([
    'grant-tokens',
    'balance',
    'request-tokens',
    'leaderboard',
    'tokens help',
    'tokens dashboard',
  ]);
});

const ids = { appId: '5d7a1f3c-8e2b-4a6d-9c0f-1b2e3d4c5a6b', botId: '3f0c6f4e-2a52-4c59-9d0b-5b3a4e2f7a10' };
const host = 'allot.acme.com';

it('npm run teams:package zips the manifest and two icons of the right sizes at the root', async () => {
  const { botId } = ids;
  const file = packageTeamsApp({ ...ids, host, outFile: path.join(outFolder, 'allot-teams.zip') });
  const zip = new AdmZip(file);
  expect(
    zip
      .getEntries()
      .map((entry) => entry.entryName)
      .sort(),
  ).toEqual(['color.png', 'manifest.json', 'outline.png']);
  const packaged = JSON.parse(zip.readAsText('manifest.json')) as typeof manifest;
  expect(packaged.bots[0]!.botId).toBe(botId);
  expect(await AppManifestUtils.validateAgainstSchema(packaged as unknown as Manifest)).toEqual([]);
  expect(pngSize(zip.readFile('color.png')!)).toMatchObject({ width: 192, height: 192 });
  const outline = zip.readFile('outline.png')!;
  expect(pngSize(outline)).toEqual({ width: 32, height: 32, colourType: 6 });
  // Teams wants the outline icon white on a transparent background: every pixel is one or the other.
  const pixels = outlinePixels(outline);
  expect(pixels.every(([r, g, b, a]) => a === 0 || (r === 255 && g === 255 && b === 255 && a === 255))).toBe(true);
  expect(pixels.some(([, , , a]) => a === 0)).toBe(true);
  expect(pixels.some(([, , , a]) => a === 255)).toBe(true);
  expect(() => buildManifest({ ...ids, host, botId: 'nope' })).toThrow(/GUID/);
});

it('--host sets the website, privacy and terms links and the one valid domain', async () => {
  for (const written of ['allot.acme.com', 'https://allot.acme.com/', 'Allot.Acme.com']) {
    const packaged = buildManifest({ ...ids, host: written }) as {
      developer: Record<string, string>;
      validDomains: string[];
    };
    expect(packaged.developer).toMatchObject({
      websiteUrl: 'https://allot.acme.com',
      privacyUrl: 'https://allot.acme.com/privacy',
      termsOfUseUrl: 'https://allot.acme.com/terms',
    });
    expect(packaged.validDomains).toEqual(['allot.acme.com']);
    expect(JSON.stringify(packaged)).not.toContain('example.com');
    expect(await AppManifestUtils.validateAgainstSchema(packaged as unknown as Manifest)).toEqual([]);
  }
  for (const bad of ['http://allot.acme.com', 'allot.acme.com:8443', 'allot.acme.com/teams', 'localhost', '']) {
    expect(() => buildManifest({ ...ids, host: bad }), bad).toThrow(/^--host must be a host name/);
  }
  expect(() => buildManifest(ids)).toThrow(/^--host is required/);
});

it('the placeholder ids of teams/manifest.json are refused, missing or typed in, saying what to give instead', () => {
  expect(placeholderIds).toEqual([manifest.id, manifest.bots[0]!.botId]);
  expect(() => buildManifest({ botId: ids.botId, host })).toThrow(/^--app-id is required: .*placeholder/);
  expect(() => buildManifest({ appId: ids.appId, host })).toThrow(/^--bot-id is required: .*MICROSOFT_APP_ID/);
  expect(() => buildManifest({ ...ids, host, appId: placeholderIds[0]!.toUpperCase() })).toThrow(
    /^--app-id 00000000-0000-4000-8000-0000000A110E is the placeholder/,
  );
  expect(() => buildManifest({ ...ids, host, botId: placeholderIds[1] })).toThrow(/^--bot-id .* is the placeholder/);
});

it('a version that is not x.y.z is refused; x.y.z is written into the manifest', () => {
  for (const bad of ['1.0', '1.0.0-beta', 'v1.0.0', '01.0.0', '1.0.0.0', 'one']) {
    expect(() => buildManifest({ ...ids, host, version: bad }), bad).toThrow(/^--version must be three whole numbers/);
  }
  expect(buildManifest({ ...ids, host, version: '2.10.0' }).version).toBe('2.10.0');
});

it('the package is written with mode 0644 whatever the umask, even over an older package', () => {
  const outFile = path.join(outFolder, 'mode.zip');
  writeFileSync(outFile, 'an older package', { mode: 0o600 });
  const umask = process.umask(0o000);
  try {
    packageTeamsApp({ ...ids, host, outFile });
  } finally {
    process.umask(umask);
  }
  expect(statSync(outFile).mode & 0o777).toBe(0o644);
  expect(new AdmZip(outFile).getEntries()).toHaveLength(3);
});

it('npm run teams:package with a placeholder left in says so in one line and exits 2, writing nothing', async () => {
  const outFile = path.join(outFolder, 'refused.zip');
  const result = await runCommand('npm', [
    'run',
    '--silent',
    'teams:package',
    '--',
    '--host',
    host,
    '--bot-id',
    ids.botId,
    '--out',
    outFile,
  ]);
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([
    "--app-id is required: teams/manifest.json holds a placeholder for the app's own id, any GUID you keep for this app",
  ]);
  expect(() => statSync(outFile)).toThrow();
});
