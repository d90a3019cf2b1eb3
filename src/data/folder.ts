// An image folder as a dataset: list (folder-scan), probe sizes, decode (folder-decode), compute
// the normalisation statistics of the training images, and cache all of it (folder-cache).
import path from 'node:path';
import sharp from 'sharp';
import type { LabeledImages } from './cifar.js';
import type { DatasetInfo } from './datasets.js';
import { formatDatasetRef, type FolderRef } from './dataset-ref.js';
import { cacheKey, readCache, writeCache, type CacheHeader } from './folder-cache.js';
import { decodeImage, mapLimited, probeImage, type ImageProbe } from './folder-decode.js';
import { scanFolder, type ImageFile } from './folder-scan.js';

export interface FolderDataset {
  info: DatasetInfo;
  train: LabeledImages;
  test: LabeledImages;
  dir: string;
  /** Images left out by skip-bad, with sharp's reason. */
  skipped: { file: string; reason: string }[];
  /** Where the decoded images are cached, or null. */
  cacheFile: string | null;
  /** Things a user should know (a rebuilt or unwritable cache, ignored files). */
  notes: string[];
}

/** Decoding more than this many bytes would not fit the engine's arrays. */
const MAX_DECODED = 2 ** 31 - 1;
const IN_FLIGHT = 16;

export async function loadImageFolder(ref: FolderRef): Promise<FolderDataset> {
  const listing = scanFolder(ref);
  const notes: string[] = [];
  if (listing.ignored) notes.push(`${listing.ignored} files that are not PNG or JPEG were ignored`);
  const key = cacheKey({
    v: 1,
    sharp: sharp.versions.vips,
    size: ref.size ?? null,
    channels: ref.channels ?? null,
    split: listing.split === 'seeded' ? { test: ref.test, seed: ref.seed } : 'folders',
    skipBad: ref.skipBad,
    train: listing.train.map(fileKey),
    test: listing.test.map(fileKey),
  });
  const found = readCache(ref.dir, key);
  if (found.problem) notes.push(`rebuilding the dataset cache: ${found.problem}`);
  if (found.cached) {
    const { header, train, test } = found.cached;
    return { info: infoOf(ref, header), train, test, dir: ref.dir, skipped: header.skipped, cacheFile: found.file ?? null, notes };
  }
  const skipped: { file: string; reason: string }[] = [];
  const bad = (f: ImageFile, e: unknown): null => {
    const reason = (e as Error).message.split('\n')[0];
    if (!ref.skipBad)
      throw new Error(`${path.join(ref.dir, f.rel)}: ${reason}; fix or remove it, or pass --skip-bad to skip unreadable images`);
    skipped.push({ file: f.rel, reason });
    return null;
  };
  const all = [...listing.train, ...listing.test];
  const probes = await mapLimited(all, IN_FLIGHT, (f) => probeImage(path.join(ref.dir, f.rel)).catch((e: unknown) => bad(f, e)));
  const good = probes.filter((p): p is ImageProbe => p !== null);
  const size = ref.size ?? commonSize(all, probes, ref);
  const channels = ref.channels ?? (good.every((p) => p.gray) ? 1 : 3);
  const per = size[0] * size[1] * channels;
  if (good.length * per > MAX_DECODED)
    throw new Error(
      `${ref.dir}: ${good.length} images of ${size.join('x')}x${channels} decode to more than 2 GiB; give a smaller size=HxW`,
    );
  const decodeSplit = async (files: ImageFile[], offset: number): Promise<LabeledImages> => {
    const pixels = await mapLimited(files, IN_FLIGHT, (f, i) =>
      probes[offset + i] === null
        ? Promise.resolve(null)
        : decodeImage(path.join(ref.dir, f.rel), size, channels).catch((e: unknown) => bad(f, e)),
    );
    const kept = files.map((f, i) => ({ f, p: pixels[i] })).filter((x): x is { f: ImageFile; p: Uint8Array } => x.p !== null);
    const images = new Uint8Array(kept.length * per);
    kept.forEach((x, i) => images.set(x.p, i * per));
    return { images, labels: Uint8Array.from(kept, (x) => x.f.label), count: kept.length };
  };
  const train = await decodeSplit(listing.train, 0);
  const test = await decodeSplit(listing.test, listing.train.length);
  for (const [name, s] of [
    ['training', train],
    ['test', test],
  ] as const)
    if (s.count === 0) throw new Error(`${ref.dir}: no readable ${name} images (${skipped.length} skipped)`);
  const { mean, std } = channelStats(train, channels);
  const header: Omit<CacheHeader, 'payloadSha256'> = {
    key,
    shape: [size[0], size[1], channels],
    classNames: listing.classNames,
    trainCount: train.count,
    testCount: test.count,
    mean,
    std,
    skipped,
  };
  const written = writeCache(ref.dir, header, train, test);
  if (written.note) notes.push(written.note);
  return { info: infoOf(ref, header), train, test, dir: ref.dir, skipped, cacheFile: written.file, notes };
}

function fileKey(f: ImageFile): [string, number, number, number] {
  return [f.rel, f.label, f.bytes, f.mtimeMs];
}

function infoOf(ref: FolderRef, h: Pick<CacheHeader, 'shape' | 'classNames' | 'mean' | 'std'>): DatasetInfo {
  return {
    name: formatDatasetRef(ref),
    shape: h.shape,
    numClasses: h.classNames.length,
    classNames: h.classNames,
    mean: h.mean,
    std: h.std,
    augment: false,
  };
}

/** The images' own size when they all have one; otherwise the user must choose. */
function commonSize(files: ImageFile[], probes: (ImageProbe | null)[], ref: FolderRef): [number, number] {
  let first: { f: ImageFile; p: ImageProbe } | null = null;
  for (let i = 0; i < files.length; i++) {
    const p = probes[i];
    if (!p) continue;
    if (!first) first = { f: files[i], p };
    else if (p.width !== first.p.width || p.height !== first.p.height)
      throw new Error(
        `${ref.dir}: images differ in size (${first.f.rel} is ${first.p.width}x${first.p.height}, ${files[i].rel} is ${p.width}x${p.height}); give folder:<dir>?size=HxW`,
      );
  }
  if (!first) throw new Error(`${ref.dir}: no readable images`);
  return [first.p.height, first.p.width];
}

/** Per-channel mean and standard deviation of the training pixels scaled to [0, 1]. */
export function channelStats(s: LabeledImages, channels: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(channels),
    sq = new Float64Array(channels);
  const hist = Array.from({ length: channels }, () => new Float64Array(256));
  for (let i = 0; i < s.images.length; i++) hist[i % channels][s.images[i]]++;
  for (let c = 0; c < channels; c++)
    for (let v = 0; v < 256; v++) {
      sum[c] += hist[c][v] * v;
      sq[c] += hist[c][v] * v * v;
    }
  const n = s.images.length / channels;
  const mean = Array.from(sum, (x) => x / n / 255);
  // A constant channel would divide by zero; 1/255 keeps its inputs finite and near zero.
  const std = Array.from(sq, (x, c) => Math.max(Math.sqrt(Math.max(0, x / n / 65025 - mean[c] ** 2)), 1 / 255));
  return { mean: mean.map(round6), std: std.map(round6) };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
