import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';
import { writeIcons } from './icons';

// `npm run teams:package -- --host <host> --app-id <guid> --bot-id <guid> [--version <x.y.z>]` zips the
// Teams app manifest with its two icons into teams/build/allot-teams.zip, the file you upload in Teams
// (Apps → Manage your apps → Upload an app) or in the Developer Portal. The ids in teams/manifest.json
// are placeholders and are refused: --bot-id must be the Microsoft App ID of your Azure Bot
// (MICROSOFT_APP_ID), --app-id any GUID that stays the same across versions of your package. --host is
// the public host that serves Allot: the developer's website, privacy and terms links point there and it
// is the package's one valid domain.

const folder = path.dirname(fileURLToPath(import.meta.url));
const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The placeholders teams/manifest.json ships with: the app's id and the bot's id. */
export const placeholderIds = ['00000000-0000-4000-8000-0000000a110e', '00000000-0000-4000-8000-00000000b07a'];
/** Teams' own rule for `version` (MicrosoftTeams.schema.json): three whole numbers, no leading zeros. */
const versionPattern = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;
const hostPattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** A refusal of the options, printed as one line by the script (exit code 2). */
export class PackageOptionError extends Error {
  override name = 'PackageOptionError';
}

export interface PackageOptions {
  appId?: string;
  botId?: string;
  /** The public host serving Allot, e.g. allot.acme.com (https:// and a trailing / are accepted). */
  host?: string;
  version?: string;
  outFile?: string;
}

function requireId(flag: string, value: string | undefined, what: string): string {
  if (value === undefined) {
    throw new PackageOptionError(`${flag} is required: teams/manifest.json holds a placeholder for ${what}`);
  }
  if (!guidPattern.test(value)) throw new PackageOptionError(`${flag} must be a GUID (${what}), got "${value}"`);
  if (placeholderIds.includes(value.toLowerCase())) {
    throw new PackageOptionError(`${flag} ${value} is the placeholder from teams/manifest.json; give ${what}`);
  }
  return value;
}

/** allot.acme.com from "allot.acme.com", "https://allot.acme.com" or "https://allot.acme.com/". */
export function parseHost(value: string | undefined): string {
  if (value === undefined) {
    throw new PackageOptionError('--host is required: the public host that serves Allot, e.g. --host allot.acme.com');
  }
  const host = value
    .trim()
    .toLowerCase()
    .replace(/^https:\/\//, '')
    .replace(/\/$/, '');
  if (!hostPattern.test(host)) {
    throw new PackageOptionError(
      `--host must be a host name such as allot.acme.com (no http://, port or path), got "${value}"`,
    );
  }
  return host;
}

/** The manifest with your ids, host and version; refuses placeholders and malformed values. */
export function buildManifest(options: PackageOptions = {}): Record<string, unknown> {
  const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.id = requireId('--app-id', options.appId, "the app's own id, any GUID you keep for this app");
  const botId = requireId('--bot-id', options.botId, "the bot's Microsoft App ID (MICROSOFT_APP_ID)");
  for (const bot of manifest.bots as { botId: string }[]) bot.botId = botId;
  const host = parseHost(options.host);
  manifest.developer = {
    ...(manifest.developer as Record<string, unknown>),
    websiteUrl: `https://${host}`,
    privacyUrl: `https://${host}/privacy`,
    termsOfUseUrl: `https://${host}/terms`,
  };
  manifest.validDomains = [host];
  const version = options.version ?? String(manifest.version);
  if (!versionPattern.test(version)) {
    throw new PackageOptionError(`--version must be three whole numbers like 1.2.0, got "${version}"`);
  }
  manifest.version = version;
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
  // Readable by everyone, writable by its owner, whatever the umask (and if the file already existed).
  writeFileSync(outFile, zip.toBuffer(), { mode: 0o644 });
  chmodSync(outFile, 0o644);
  return outFile;
}

function optionsFromArgs(args: string[]): PackageOptions {
  const options: PackageOptions = {};
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (value === undefined) throw new PackageOptionError(`${flag} needs a value`);
    if (flag === '--app-id') options.appId = value;
    else if (flag === '--bot-id') options.botId = value;
    else if (flag === '--host') options.host = value;
    else if (flag === '--version') options.version = value;
    else if (flag === '--out') options.outFile = path.resolve(value);
    else throw new PackageOptionError(`unknown option ${flag}; use --host, --app-id, --bot-id, --version or --out`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const file = packageTeamsApp(optionsFromArgs(process.argv.slice(2)));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } catch (error) {
    if (!(error instanceof PackageOptionError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}
