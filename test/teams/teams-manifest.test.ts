import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { AppManifestUtils } from '@microsoft/app-manifest';
import AdmZip from 'adm-zip';
import { afterAll, expect, it } from 'vitest';
import { buildManifest, packageTeamsApp } from '../../teams/package';

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
  expect(titles).toEqual(['grant-tokens', 'balance', 'request-tokens', 'leaderboard', 'tokens help']);
});

it('npm run teams:package zips the manifest and two icons of the right sizes at the root', async () => {
  const botId = '3f0c6f4e-2a52-4c59-9d0b-5b3a4e2f7a10';
  const file = packageTeamsApp({ botId, outFile: path.join(outFolder, 'allot-teams.zip') });
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
  expect(() => buildManifest({ botId: 'nope' })).toThrow(/GUID/);
});
