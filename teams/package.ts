import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';
import { writeIcons } from './icons';

// `npm run teams:package [-- --app-id <guid> --bot-id <guid> --version <x.y.z>]` zips the Teams app
// manifest with its two icons into teams/build/allot-teams.zip, the file you upload in Teams (Apps →
// Manage your apps → Upload an app) or in the Developer Portal. The ids in teams/manifest.json are
// placeholders: --bot-id must be the Microsoft App ID of your Azure Bot (MICROSOFT_APP_ID), --app-id
// any GUID that stays the same across versions of your package.

const folder = path.dirname(fileURLToPath(import.meta.url));
const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PackageOptions {
  appId?: string;
  botId?: string;
  version?: string;
  outFile?: string;
}

export function buildManifest(options: PackageOptions = {}): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  if (options.appId !== undefined) {
    if (!guidPattern.test(options.appId)) throw new Error(`--app-id must be a GUID, got "${options.appId}"`);
    manifest.id = options.appId;
  }
  if (options.botId !== undefined) {
    if (!guidPattern.test(options.botId)) throw new Error(`--bot-id must be a GUID (the bot's Microsoft App ID)`);
    const bots = manifest.bots as { botId: string }[];
    for (const bot of bots) bot.botId = options.botId;
  }
  if (options.version !== undefined) manifest.version = options.version;
  return manifest;
}

/** Writes the app package and returns its path. */
export function packageTeamsApp(options: PackageOptions = {}): string {
  const manifest = buildManifest(options);
  if (!existsSync(path.join(folder, 'color.png')) || !existsSync(path.join(folder, 'outline.png'))) {
    writeIcons(folder);
  }
  const zip = new AdmZip();
  // Teams wants the three files at the root of the archive, not in a folder.
  zip.addFile('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
  zip.addFile('color.png', readFileSync(path.join(folder, 'color.png')));
  zip.addFile('outline.png', readFileSync(path.join(folder, 'outline.png')));
  const outFile = options.outFile ?? path.join(folder, 'build', 'allot-teams.zip');
  mkdirSync(path.dirname(outFile), { recursive: true });
  zip.writeZip(outFile);
  return outFile;
}

function optionsFromArgs(args: string[]): PackageOptions {
  const options: PackageOptions = {};
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--app-id') options.appId = value;
    else if (flag === '--bot-id') options.botId = value;
    else if (flag === '--version') options.version = value;
    else if (flag === '--out') options.outFile = path.resolve(value);
    else throw new Error(`unknown option ${flag}; use --app-id, --bot-id, --version or --out`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const file = packageTeamsApp(optionsFromArgs(process.argv.slice(2)));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
