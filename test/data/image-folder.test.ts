// Image folders (`--data folder:<dir>`): the ImageFolder layout with a seeded split or train/ and
// test/, decoding with sharp (exact pixels for PNG), resizing, grayscale detection, the
// normalisation statistics, the cache beside the data (and what a damaged or hostile cache file
// does), unreadable images (one line naming the file, or skipped and counted), and layout errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../../src/data/load.js';
import { parseDatasetRef, formatDatasetRef, canonicalData } from '../../src/data/dataset-ref.js';
import { decodeCache, encodeCache } from '../../src/data/folder-cache.js';
import { channelStats } from '../../src/data/folder.js';
import { tmpDir } from '../helpers/fixtures.js';
import { writeImageFolder } from '../helpers/image-folder.js';

const cacheDirOf = (dir: string) => path.join(dir, '.lowbit-cache');
const cacheFile = (dir: string) => {
  const files = readdirSync(cacheDirOf(dir));
  assert.equal(files.length, 1, `one cache file in ${cacheDirOf(dir)}: ${files.join(', ')}`);
  return path.join(cacheDirOf(dir), files[0]);
};

test('a folder of class subfolders: seeded split per class, exact PNG pixels, grayscale, statistics and a cache', async () => {
  const dir = tmpDir();
  const written = await writeImageFolder(dir, { classes: ['cat', 'dog', 'emu'], perClass: 10, size: [12, 10], channels: 1 });
  writeFileSync(path.join(dir, 'dog', 'notes.txt'), 'not an image');
  const ds = await loadDataset(`folder:${dir}`);
  assert.equal(ds.info.name, `folder:${dir}`);
  assert.deepEqual(ds.info.shape, [12, 10, 1]);
  assert.deepEqual(ds.info.classNames, ['cat', 'dog', 'emu']);
  assert.equal(ds.train.count, 24);
  assert.equal(ds.test.count, 6);
  for (const s of [ds.train, ds.test])
    assert.deepEqual(
      [0, 1, 2].map((c) => s.labels.filter((l) => l === c).length),
      s === ds.train ? [8, 8, 8] : [2, 2, 2],
    );
  assert.ok(ds.notes?.some((n) => /1 files that are not PNG or JPEG were ignored/.test(n)));
  // Every decoded image is one of the written ones of its class, byte for byte, and none is in both splits.
  const per = 12 * 10;
  const seen = new Set<string>();
  for (const s of [ds.train, ds.test])
    for (let i = 0; i < s.count; i++) {
      const px = s.images.subarray(i * per, (i + 1) * per);
      const match = [...written].find(
        ([rel, w]) => rel.startsWith(`${ds.info.classNames[s.labels[i]]}/`) && Buffer.from(w).equals(Buffer.from(px)),
      );
      assert.ok(match, `image ${i} matches a written image of its class`);
      assert.ok(!seen.has(match[0]), `${match[0]} appears once`);
      seen.add(match[0]);
    }
  assert.equal(seen.size, 30);
  // Statistics: the training pixels' per-channel mean and std, computed here independently.
  let sum = 0,
    sq = 0;
  for (const v of ds.train.images) {
    sum += v / 255;
    sq += (v / 255) ** 2;
  }
  const n = ds.train.images.length;
  assert.ok(Math.abs(ds.info.mean[0] - sum / n) < 1e-6);
  assert.ok(Math.abs(ds.info.std[0] - Math.sqrt(sq / n - (sum / n) ** 2)) < 1e-5);
  // Cached beside the data; the second load reads it and gives the same arrays.
  assert.equal(ds.cacheFile, cacheFile(dir));
  const again = await loadDataset(`folder:${dir}`);
  assert.deepEqual(again.train.images, ds.train.images);
  assert.deepEqual(again.test.labels, ds.test.labels);
  assert.deepEqual(again.info, ds.info);
  // The same seed splits the same way; another seed another way; test=0.5 holds out half.
  const seed2 = await loadDataset(`folder:${dir}?seed=2`);
  assert.notDeepEqual(seed2.test.images, ds.test.images);
  assert.equal((await loadDataset(`folder:${dir}?test=0.5`)).test.count, 15);
  assert.equal(readdirSync(cacheDirOf(dir)).length, 3);
});

test('train/ and test/ folders, RGB JPEGs of several sizes: size=HxW resizes, channels=1 converts', async () => {
  const dir = tmpDir();
  await writeImageFolder(dir, {
    classes: ['a', 'b'],
    perClass: 4,
    testPerClass: 2,
    size: (c, i) => (i % 2 ? [20, 30] : [24, 24]),
    channels: 3,
    format: 'jpeg',
  });
  await assert.rejects(
    loadDataset(`folder:${dir}`),
    /images differ in size \(train\/a\/img000\.jpg is 24x24, train\/a\/img001\.jpg is 30x20\); give folder:<dir>\?size=HxW/,
  );
  const ds = await loadDataset(`folder:${dir}?size=16x12`);
  assert.deepEqual(ds.info.shape, [16, 12, 3]);
  assert.equal(ds.train.count, 8);
  assert.equal(ds.test.count, 4);
  // The class band survives JPEG and resizing: class b's band is lower in the image than class a's.
  const rowMean = (img: Uint8Array, y: number) => img.subarray(y * 36, (y + 1) * 36).reduce((a, b) => a + b, 0) / 36;
  const a = ds.train.images.subarray(0, 16 * 12 * 3),
    b = ds.train.images.subarray(4 * 16 * 12 * 3, 5 * 16 * 12 * 3);
  assert.ok(rowMean(a, 4) > 150 && rowMean(a, 12) < 80, 'class a: bright band near the top');
  assert.ok(rowMean(b, 12) > 150 && rowMean(b, 4) < 80, 'class b: bright band near the bottom');
  const gray = await loadDataset(`folder:${dir}?size=16&channels=1`);
  assert.deepEqual(gray.info.shape, [16, 16, 1]);
  assert.equal(gray.info.mean.length, 1);
});

test('an unreadable image: one line naming it, or skipped and counted with skip-bad; the cache remembers', async () => {
  const dir = tmpDir();
  await writeImageFolder(dir, { classes: ['x', 'y'], perClass: 6, size: [8, 8], channels: 1 });
  writeFileSync(path.join(dir, 'x', 'broken.png'), 'this is not a png');
  // A PNG cut in the middle of its data: its header is valid, its pixels are not all there.
  const whole = readFileSync(path.join(dir, 'y', 'img000.png'));
  writeFileSync(path.join(dir, 'y', 'truncated.png'), whole.subarray(0, whole.length - 20));
  const err = await loadDataset(`folder:${dir}`).then(
    () => null,
    (e: Error) => e.message,
  );
  assert.ok(err && !err.includes('\n'), 'one line');
  assert.match(err, new RegExp(`${dir}/x/broken\\.png: .*; fix or remove it, or pass --skip-bad`));
  assert.throws(() => readdirSync(cacheDirOf(dir)), /ENOENT/, 'no cache is written for a failed load');
  const ds = await loadDataset(canonicalData(`folder:${dir}`, { skipBad: true }));
  assert.deepEqual(
    ds.skipped?.map((s) => s.file),
    ['x/broken.png', 'y/truncated.png'],
  );
  assert.equal(ds.train.count + ds.test.count, 12);
  const cached = await loadDataset(`folder:${dir}?skip-bad=1`);
  assert.equal(cached.cacheFile, ds.cacheFile);
  assert.equal(cached.skipped?.length, 2);
  // Without skip-bad the cache of the skipping load does not apply: the bad file is named again.
  await assert.rejects(loadDataset(`folder:${dir}`), /broken\.png/);
});

test('the cache is derived data: a damaged file is rebuilt, a hostile one (valid hash, wrong content) is refused', async () => {
  const dir = tmpDir();
  await writeImageFolder(dir, { classes: ['p', 'q'], perClass: 5, size: [6, 6], channels: 1 });
  const first = await loadDataset(`folder:${dir}`);
  const file = cacheFile(dir);
  const bytes = readFileSync(file);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 0x40;
  writeFileSync(file, flipped);
  const rebuilt = await loadDataset(`folder:${dir}`);
  assert.ok(rebuilt.notes?.some((n) => /rebuilding the dataset cache: .*payload does not match its sha256 \(damaged\)/.test(n)));
  assert.deepEqual(rebuilt.train.images, first.train.images);
  assert.deepEqual(readFileSync(file), bytes, 'the rebuilt cache equals the first');
  // A writer that recomputes the hash over wrong content.
  const key = path.basename(file, '.lbds');
  const { header, train, test: testSplit } = decodeCache(bytes, key);
  const { payloadSha256: _, ...h } = header;
  const hostile = (hh: typeof h, tr = train, te = testSplit) => Buffer.concat(encodeCache(hh, tr, te));
  const badLabels = { ...train, labels: train.labels.map((l, i) => (i === 0 ? 7 : l)) };
  assert.throws(() => decodeCache(hostile(h, badLabels), key), /label 7 at 0 is not a class \(0\.\.1\)/);
  assert.throws(() => decodeCache(hostile({ ...h, trainCount: h.trainCount + 1 }), key), /payload is \d+ bytes, its header describes \d+/);
  assert.throws(() => decodeCache(hostile({ ...h, shape: [6, 6, 3] }), key), /mean and std need 3 entries each/);
  assert.throws(() => decodeCache(hostile(h), 'f'.repeat(64)), /holds key .*, expected ffffffffffff/);
  assert.throws(() => decodeCache(hostile({ ...h, std: [0] }), key), /std\.0: /);
  assert.throws(() => decodeCache(bytes.subarray(0, 16), key), /header of \d+ bytes runs past the file's 16/);
  assert.throws(() => decodeCache(Buffer.from('PK\x03\x04 not a cache'), key), /not a lowbit dataset cache/);
  // Through the loader, a hostile cache is reported and rebuilt rather than trusted.
  writeFileSync(file, hostile(h, badLabels));
  const safe = await loadDataset(`folder:${dir}`);
  assert.ok(safe.notes?.some((n) => /label 7 at 0 is not a class/.test(n)));
  assert.deepEqual(safe.train.labels, first.train.labels);
});

test('a changed folder is decoded again; an unwritable folder caches under $LOWBIT_CACHE', async () => {
  const dir = tmpDir();
  await writeImageFolder(dir, { classes: ['p', 'q'], perClass: 5, size: [6, 6], channels: 1 });
  const first = await loadDataset(`folder:${dir}`);
  copyFileSync(path.join(dir, 'p', 'img000.png'), path.join(dir, 'p', 'img999.png'));
  const more = await loadDataset(`folder:${dir}`);
  assert.equal(more.train.count + more.test.count, first.train.count + first.test.count + 1);
  // Same name and size, new content: the mtime is part of the key.
  const f = path.join(dir, 'q', 'img001.png');
  copyFileSync(path.join(dir, 'q', 'img002.png'), f);
  const t = statSync(f).mtime;
  utimesSync(f, t, new Date(t.getTime() + 5000));
  const changed = await loadDataset(`folder:${dir}`);
  assert.notEqual(changed.cacheFile, more.cacheFile);
  // A folder the cache cannot be written into (here: .lowbit-cache is taken by a file, which also
  // holds for root, who writes into read-only folders) caches under $LOWBIT_CACHE instead.
  const ro = tmpDir();
  await writeImageFolder(ro, { classes: ['p', 'q'], perClass: 3, size: [6, 6], channels: 1 });
  writeFileSync(path.join(ro, '.lowbit-cache'), 'taken');
  const home = tmpDir();
  const saved = process.env.LOWBIT_CACHE;
  process.env.LOWBIT_CACHE = home;
  try {
    const ds = await loadDataset(`folder:${ro}`);
    assert.ok(ds.cacheFile?.startsWith(path.join(home, 'folders')), String(ds.cacheFile));
    const again = await loadDataset(`folder:${ro}`);
    assert.equal(again.cacheFile, ds.cacheFile);
    assert.deepEqual(again.train.images, ds.train.images);
  } finally {
    if (saved === undefined) delete process.env.LOWBIT_CACHE;
    else process.env.LOWBIT_CACHE = saved;
  }
});

test('layout mistakes and bad options are one line naming the folder or the option', async () => {
  const dir = tmpDir();
  const rejects = async (ref: string, re: RegExp) => {
    const e = await loadDataset(ref).then(
      () => null,
      (x: Error) => x.message,
    );
    assert.ok(e, `${ref} is refused`);
    assert.ok(!e.includes('\n'), e);
    assert.match(e, re);
  };
  await rejects(`folder:${path.join(dir, 'nope')}`, /data folder .*nope does not exist/);
  mkdirSync(path.join(dir, 'only'));
  await rejects(`folder:${dir}`, /has 1 class folder; expected one subfolder per class \(at least 2\)/);
  mkdirSync(path.join(dir, 'empty'));
  await rejects(`folder:${dir}`, /empty holds no PNG or JPEG images/);
  const one = tmpDir();
  await writeImageFolder(one, { classes: ['a', 'b'], perClass: 1, size: [4, 4], channels: 1 });
  await rejects(`folder:${one}`, /has 1 image; a seeded split needs at least 2 per class/);
  const split = tmpDir();
  await writeImageFolder(split, { classes: ['a', 'b'], perClass: 2, testPerClass: 1, size: [4, 4], channels: 1 });
  mkdirSync(path.join(split, 'test', 'zebra'));
  await rejects(`folder:${split}`, /test has classes that .*train lacks: zebra/);
  rmSync(path.join(split, 'test'), { recursive: true });
  await rejects(`folder:${split}`, /has train\/ but no test\/; give both, or only class folders/);
  await rejects(`folder:${one}?size=0`, /size=0 is not valid; expected N or HxW/);
  await rejects(`folder:${one}?channels=2`, /channels=2 is not valid; expected 1 or 3/);
  await rejects(`folder:${one}?test=1`, /test=1 is not valid; expected a share between 0 and 1/);
  await rejects(`folder:${one}?colour=yes`, /unknown option 'colour'; expected size, channels, test, seed or skip-bad/);
  await rejects('imagenet', /unknown dataset 'imagenet'; expected mnist, fashion-mnist, cifar10, or folder:<dir>/);
  await assert.rejects(loadDataset(`folder:${one}`, { dataDir: one }), /(--data-dir|dataDir) applies to registered datasets/);
});

test('dataset references: canonical text round-trips, relative folders resolve, skip-bad folds in', () => {
  const r = parseDatasetRef('folder:photos/?channels=3&size=32&seed=4&test=0.25&skip-bad', '/data');
  assert.deepEqual(r, { kind: 'folder', dir: '/data/photos', size: [32, 32], channels: 3, test: 0.25, seed: 4, skipBad: true });
  const text = formatDatasetRef(r);
  assert.equal(text, 'folder:/data/photos?size=32x32&channels=3&test=0.25&seed=4&skip-bad=1');
  assert.deepEqual(parseDatasetRef(text), r);
  assert.equal(formatDatasetRef(parseDatasetRef('folder:/d?test=0.2&seed=1')), 'folder:/d');
  assert.equal(canonicalData('mnist'), 'mnist');
  assert.throws(() => canonicalData('mnist', { skipBad: true }), /--skip-bad applies to image folders/);
  assert.equal(canonicalData('folder:/d', { skipBad: true }), 'folder:/d?skip-bad=1');
});

test('channel statistics of interleaved pixels', () => {
  const images = Uint8Array.from([0, 255, 0, 255, 255, 255]);
  const s = channelStats({ images, labels: new Uint8Array(3), count: 3 }, 2);
  assert.deepEqual(s.mean, [Math.round((1 / 3) * 1e6) / 1e6, 1]);
  assert.equal(s.std[1], Math.round((1 / 255) * 1e6) / 1e6, 'a constant channel keeps a finite std');
});
