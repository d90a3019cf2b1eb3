// The decoded images of a folder dataset and their normalisation statistics, cached beside the
// data (in <dir>/.lowbit-cache/, or under $LOWBIT_CACHE when the folder is read-only) so that
// decoding and the statistics are computed once. The file is named by a key over every input of
// the decode (options, each file's name, size and mtime, sharp's version), so any change to the
// folder makes a new one. It is derived data: a damaged or inconsistent file is reported and
// rebuilt, never trusted.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic.js';
import { readInputFile, READ_LIMITS } from '../util/read.js';
import { defaultCacheDir } from './datasets.js';
import type { LabeledImages } from './cifar.js';

const MAGIC = Buffer.from('LBDSET1\n', 'latin1');
const MAX_HEADER = 16 << 20;

const headerSchema = z
  .object({
    key: z.string().regex(/^[0-9a-f]{64}$/),
    shape: z.tuple([z.number().int().min(1).max(4096), z.number().int().min(1).max(4096), z.union([z.literal(1), z.literal(3)])]),
    classNames: z.array(z.string().min(1)).min(2).max(256),
    trainCount: z.number().int().min(1),
    testCount: z.number().int().min(1),
    mean: z.array(z.number().min(0).max(1)),
    std: z.array(z.number().positive()),
    /** Images that could not be decoded (with --skip-bad), relative path → reason. */
    skipped: z.array(z.object({ file: z.string(), reason: z.string() })),
    payloadSha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export type CacheHeader = z.output<typeof headerSchema>;

export interface CachedFolder {
  header: CacheHeader;
  train: LabeledImages;
  test: LabeledImages;
}

/** The places a folder's cache may live: beside the data first, then the user cache. */
export function cacheFiles(dir: string, key: string): string[] {
  const name = `${key}.lbds`;
  const aside = path.join(defaultCacheDir('folders'), createHash('sha256').update(dir).digest('hex').slice(0, 16));
  return [path.join(dir, '.lowbit-cache', name), path.join(aside, name)];
}

export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Bytes of a cache file (header then train images, train labels, test images, test labels). */
export function encodeCache(header: Omit<CacheHeader, 'payloadSha256'>, train: LabeledImages, test: LabeledImages): Uint8Array[] {
  const payload = [train.images, train.labels, test.images, test.labels];
  const h = createHash('sha256');
  for (const p of payload) h.update(p);
  const json = Buffer.from(JSON.stringify({ ...header, payloadSha256: h.digest('hex') }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return [MAGIC, len, json, ...payload];
}

/** Writes the cache where it can; returns the file, or null (with the reason) when no place is writable. */
export function writeCache(
  dir: string,
  header: Omit<CacheHeader, 'payloadSha256'>,
  train: LabeledImages,
  test: LabeledImages,
): { file: string | null; note?: string } {
  const parts = encodeCache(header, train, test);
  const reasons: string[] = [];
  for (const file of cacheFiles(dir, header.key))
    try {
      writeFileAtomic(file, parts);
      return { file };
    } catch (e) {
      reasons.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  return { file: null, note: `the decoded images are not cached (${reasons.join('; ')})` };
}

/**
 * The cache of `key`, if one exists and is whole; `problem` says why a file that exists was not
 * used (it is then rebuilt).
 */
export function readCache(dir: string, key: string): { cached: CachedFolder | null; file?: string; problem?: string } {
  for (const file of cacheFiles(dir, key)) {
    if (!existsSync(file)) continue;
    try {
      return { cached: decodeCache(readInputFile(file, 'dataset cache', { maxBytes: 2 ** 31 - 1 }), key), file };
    } catch (e) {
      return { cached: null, file, problem: `${file}: ${(e as Error).message}` };
    }
  }
  return { cached: null };
}

/** Parses and checks a cache file: its key, its header's consistency, the payload's length and hash, every label. */
export function decodeCache(buf: Uint8Array, key: string): CachedFolder {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.length < MAGIC.length + 4 || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a lowbit dataset cache');
  const hlen = b.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (hlen > MAX_HEADER || start + hlen > b.length) throw new Error(`header of ${hlen} bytes runs past the file's ${b.length}`);
  let raw: unknown;
  try {
    raw = JSON.parse(b.subarray(start, start + hlen).toString('utf8'));
  } catch {
    throw new Error('header is not JSON');
  }
  const r = headerSchema.safeParse(raw);
  if (!r.success) throw new Error(`header: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const header = r.data;
  if (header.key !== key) throw new Error(`holds key ${header.key.slice(0, 12)}…, expected ${key.slice(0, 12)}…`);
  const c = header.shape[2];
  if (header.mean.length !== c || header.std.length !== c) throw new Error(`mean and std need ${c} entries each`);
  const per = header.shape[0] * header.shape[1] * c;
  const sizes = [header.trainCount * per, header.trainCount, header.testCount * per, header.testCount];
  const total = sizes.reduce((a, s) => a + s, 0);
  if (total > READ_LIMITS.checkpoint || b.length - start - hlen !== total)
    throw new Error(`payload is ${b.length - start - hlen} bytes, its header describes ${total}`);
  const h = createHash('sha256');
  let off = start + hlen;
  const views = sizes.map((n) => {
    const v = new Uint8Array(b.buffer, b.byteOffset + off, n);
    off += n;
    h.update(v);
    return v;
  });
  if (h.digest('hex') !== header.payloadSha256) throw new Error('payload does not match its sha256 (damaged)');
  const K = header.classNames.length;
  for (const labels of [views[1], views[3]])
    for (let i = 0; i < labels.length; i++) if (labels[i] >= K) throw new Error(`label ${labels[i]} at ${i} is not a class (0..${K - 1})`);
  return {
    header,
    train: { images: views[0], labels: views[1], count: header.trainCount },
    test: { images: views[2], labels: views[3], count: header.testCount },
  };
}
