// Small dataset files in the official layouts, generated on the fly.
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const made: string[] = [];
let cleanup = false;

/** A fresh temporary directory, removed when the test process exits (set LOWBIT_KEEP_TMP=1 to keep them for debugging). */
export function tmpDir(prefix = 'lowbit-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  if (!cleanup && !process.env.LOWBIT_KEEP_TMP) {
    cleanup = true;
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** An idx file of unsigned bytes with the given dims. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** n noisy images of h x w with a bright 6x6 block at a label-specific place (learnable), plus labels. */
export function idxPair(n: number, h = 28, w = 28, seed = 1): { images: Uint8Array; labels: Uint8Array } {
  const labels = new Uint8Array(n),
    images = new Uint8Array(n * h * w);
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < n; i++) {
    const label = next() % 10;
    labels[i] = label;
    const top = 2 + Math.floor(label / 5) * 12,
      left = 1 + (label % 5) * 5;
    for (let r = 0; r < h; r++)
      for (let c = 0; c < w; c++) {
        const on = r >= top && r < top + 6 && c >= left && c < left + 4;
        images[i * h * w + r * w + c] = (on ? 180 : 10) + (next() >>> 27);
      }
  }
  return { images: idxBytes([n, h, w], images), labels: idxBytes([n], labels) };
}

/** Writes an MNIST-layout directory (gzipped or raw) with nTrain/nTest examples. */
export function writeIdxDataset(dir: string, nTrain: number, nTest: number, gz = true): void {
  mkdirSync(dir, { recursive: true });
  const tr = idxPair(nTrain, 28, 28, 1),
    te = idxPair(nTest, 28, 28, 2);
  const put = (name: string, b: Uint8Array) => writeFileSync(path.join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(b) : b);
  put('train-images-idx3-ubyte', tr.images);
  put('train-labels-idx1-ubyte', tr.labels);
  put('t10k-images-idx3-ubyte', te.images);
  put('t10k-labels-idx1-ubyte', te.labels);
}

/** A CIFAR-10 binary batch of n records: label byte then 1024 R, 1024 G, 1024 B. */
export function cifarBatch(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    b[i * 3073] = (i + seed) % 10;
    for (let p = 0; p < 3072; p++) b[i * 3073 + 1 + p] = (p * 7 + i * 13 + seed) & 255;
  }
  return b;
}

/** A ustar archive holding the given files under a directory. */
export function tarOf(files: Record<string, Uint8Array>, dir = 'cifar-10-batches-bin'): Uint8Array {
  const parts: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    const h = Buffer.alloc(512);
    h.write(`${dir}/${name}`, 0, 'latin1');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    h.write('00000000000\0', 136, 'latin1');
    h.write('        ', 148, 'latin1');
    h[156] = 48;
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    let sum = 0;
    for (const x of h) sum += x;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    parts.push(h, Buffer.from(data), Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
