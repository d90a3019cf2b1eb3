// `lowbit data fetch`: downloads a dataset's official files, verifies their sha256 and writes
// them atomically (a failed or damaged download leaves nothing behind).
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../util/atomic.js';
import { datasetInfo, defaultCacheDir, type RemoteFile } from './datasets.js';
import { maybeGunzip } from './idx.js';
import { extractTarMembers } from './tar.js';
import { OptionError, opt } from '../util/option-error.js';

export interface FetchOptions {
  outDir?: string;
  /** Mirror to download from instead of the official location (must end with /). */
  baseUrl?: string;
  /** Replaces the registry's file list (tests serve fixtures with their own hashes). */
  files?: RemoteFile[];
  onFile?(name: string, bytes: number): void;
  /** Abort a download that takes longer than this (ms). */
  timeoutMs?: number;
}

export const cifarMembers = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
  'batches.meta.txt',
];

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function download(url: string, timeoutMs: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot download ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  if (!res.ok) throw new Error(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Checks a downloaded file: the content hash when known (robust to recompression), else the file hash. */
export function verifyFile(f: RemoteFile, data: Uint8Array, url: string): void {
  if (f.bytes !== undefined && data.length !== f.bytes && !f.contentSha256)
    throw new Error(`${url}: ${data.length} bytes, expected ${f.bytes} (truncated or wrong file)`);
  if (f.contentSha256) {
    const content = maybeGunzip(data, url);
    const got = sha256(content);
    if (got !== f.contentSha256)
      throw new Error(`${url}: sha256 of the content is ${got}, expected ${f.contentSha256} (damaged or wrong file)`);
    return;
  }
  if (f.sha256) {
    const got = sha256(data);
    if (got !== f.sha256) throw new Error(`${url}: sha256 ${got}, expected ${f.sha256} (damaged or wrong file)`);
    return;
  }
  throw new Error(`${f.name}: no checksum to verify against`);
}

/** Downloads and verifies every file of a dataset; returns the directory to pass as --data-dir. */
export async function fetchDataset(name: string, opts: FetchOptions = {}): Promise<string> {
  const info = datasetInfo(name);
  const files = opts.files ?? info.files;
  const base = opts.baseUrl ?? info.baseUrl;
  if (!/^https?:\/\//.test(base)) throw new OptionError(`${opt('baseUrl')} must be an http(s) URL, got '${base}'`);
  const outDir = opts.outDir ?? defaultCacheDir(info.name);
  // Download and verify everything before writing anything.
  const verified: { f: RemoteFile; data: Uint8Array }[] = [];
  for (const f of files) {
    const url = new URL(f.name, base.endsWith('/') ? base : `${base}/`).toString();
    const data = await download(url, opts.timeoutMs ?? 600_000);
    verifyFile(f, data, url);
    verified.push({ f, data });
    opts.onFile?.(f.name, data.length);
  }
  mkdirSync(outDir, { recursive: true });
  if (info.name === 'cifar10') {
    const { data, f } = verified[0];
    let tar: Uint8Array;
    try {
      tar = gunzipSync(data);
    } catch (e) {
      throw new Error(`${f.name}: damaged gzip data (${(e as Error).message})`);
    }
    const members = extractTarMembers(tar, new Set(cifarMembers), f.name);
    const missing = cifarMembers.filter((m) => m.endsWith('.bin') && !members.has(m));
    if (missing.length) throw new Error(`${f.name}: archive lacks ${missing.join(', ')}`);
    const dir = path.join(outDir, 'cifar-10-batches-bin');
    for (const [m, bytes] of members) writeFileAtomic(path.join(dir, m), bytes);
    return outDir;
  }
  for (const { f, data } of verified) writeFileAtomic(path.join(outDir, f.name), data);
  return outDir;
}
