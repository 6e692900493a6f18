import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { resolveFromProjectRoot } from '../lib/project';

// The dashboard's static files, served by Allot itself (no CDN: the machines that run Allot may have no
// internet): its stylesheet and two small scripts from src/dashboard/assets, and Chart.js's UMD build
// from node_modules. Each is read once, at start, and served under a URL carrying a hash of its content,
// so browsers may keep it for a year and a new version is a new URL.

export interface Asset {
  name: string;
  /** `/dashboard/assets/<hash>/<name>` */
  url: string;
  contentType: string;
  body: Buffer;
}

const types: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

function load(name: string, file: string): Asset {
  const body = readFileSync(file);
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { name, url: `/dashboard/assets/${hash}/${name}`, contentType: types[path.extname(name)]!, body };
}

/** Chart.js's minified UMD build, found through its own package (wherever npm put it). */
function chartJsFile(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return path.join(path.dirname(entry), 'chart.umd.min.js');
}

/** Where src/dashboard/assets is, for the sources run through tsx and for dist/ alike. */
const ownAssets = resolveFromProjectRoot('src/dashboard/assets');

export const assetNames = ['dashboard.css', 'charts.js', 'signin.js', 'chart.umd.min.js'] as const;
export type AssetName = (typeof assetNames)[number];

let loaded: Map<AssetName, Asset> | undefined;

/** Every asset, read on first use. */
export function assets(): Map<AssetName, Asset> {
  loaded ??= new Map(
    assetNames.map((name) => [
      name,
      load(name, name === 'chart.umd.min.js' ? chartJsFile() : path.join(ownAssets, name)),
    ]),
  );
  return loaded;
}

/** The URL of an asset, for pages to link. */
export function assetUrl(name: AssetName): string {
  return assets().get(name)!.url;
}
