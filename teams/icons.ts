import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

// Draws the two icons a Teams app package needs, without an image library: color.png (192×192, full
// colour) and outline.png (32×32, white on transparent), as Teams' manifest rules ask. The mark is a
// token: a ring with a dot in the middle.

type Pixel = [number, number, number, number];

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGBA PNG from a function giving each pixel's colour. */
export function encodePng(size: number, pixel: (x: number, y: number) => Pixel): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y += 1) {
    const offset = y * (size * 4 + 1);
    rows[offset] = 0; // no filter
    for (let x = 0; x < size; x += 1) {
      const [r, g, b, a] = pixel(x, y);
      rows.set([r, g, b, a], offset + 1 + x * 4);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const accent: Pixel = [0x3b, 0x5b, 0xdb, 255];
const white: Pixel = [255, 255, 255, 255];
const clear: Pixel = [0, 0, 0, 0];

/** The token mark, scaled to `size`: `on` inside the ring and the dot, `off` elsewhere. */
function tokenMark(size: number, on: Pixel, off: Pixel) {
  const centre = (size - 1) / 2;
  return (x: number, y: number): Pixel => {
    const distance = Math.hypot(x - centre, y - centre) / size;
    const inRing = distance >= 0.3 && distance <= 0.42;
    const inDot = distance <= 0.14;
    return inRing || inDot ? on : off;
  };
}

export function colorIcon(): Buffer {
  return encodePng(192, tokenMark(192, white, accent));
}

export function outlineIcon(): Buffer {
  return encodePng(32, tokenMark(32, white, clear));
}

export function writeIcons(folder: string): void {
  writeFileSync(path.join(folder, 'color.png'), colorIcon());
  writeFileSync(path.join(folder, 'outline.png'), outlineIcon());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeIcons(path.dirname(fileURLToPath(import.meta.url)));
  console.log('wrote teams/color.png and teams/outline.png');
}
