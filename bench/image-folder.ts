// Image folders on real data: writes Fashion-MNIST (the first --limit training and test images)
// as an ImageFolder tree of grayscale PNGs, loads it with `--data folder:` semantics twice (the
// first load decodes with sharp and writes the cache, the second reads the cache), and checks that
// the decoded images, labels and normalisation equal the idx files' (the registry's mean 0.286,
// std 0.353). Prints one JSON row.
// Usage: node dist/bench/image-folder.js [--limit 70000] [--out /tmp/fashion-folder]
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { limitSplit, loadDataset } from '../src/data/load.js';
import type { LabeledImages } from '../src/data/cifar.js';

const cli = new Command()
  .option('--limit <n>', 'images per split at most', (v) => Number(v), 70000)
  .option('--out <dir>', 'where to write the folder (replaced)', path.join(os.tmpdir(), 'lowbit-fashion-folder'))
  .parse();
const o = cli.opts<{ limit: number; out: string }>();

const idx = await loadDataset('fashion-mnist');
const names = idx.info.classNames.map((n) => n.replace(/[^A-Za-z-]/g, '_'));
rmSync(o.out, { recursive: true, force: true });
const splits: [string, LabeledImages][] = [
  ['train', limitSplit(idx.train, o.limit)],
  ['test', limitSplit(idx.test, o.limit)],
];
let t = performance.now();
for (const [split, s] of splits) {
  for (const n of names) mkdirSync(path.join(o.out, split, n), { recursive: true });
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < s.count; i++) {
    const px = Buffer.from(s.images.subarray(i * 784, (i + 1) * 784));
    const file = path.join(o.out, split, names[s.labels[i]], `${String(i).padStart(5, '0')}.png`);
    pending.push(
      sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(file),
    );
    if (pending.length >= 64) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}
const writeSeconds = (performance.now() - t) / 1000;
t = performance.now();
const first = await loadDataset(`folder:${o.out}`);
const decodeSeconds = (performance.now() - t) / 1000;
t = performance.now();
const cached = await loadDataset(`folder:${o.out}`);
const cachedSeconds = (performance.now() - t) / 1000;

/** The folder lists classes by name and files by index: rebuild that order from the idx split. */
function identical(a: LabeledImages, b: LabeledImages): boolean {
  const classOrder = first.info.classNames.map((n) => names.indexOf(n));
  const order: number[] = [];
  for (const c of classOrder) for (let i = 0; i < a.count; i++) if (a.labels[i] === c) order.push(i);
  if (order.length !== b.count) return false;
  return order.every(
    (i, k) =>
      classOrder[b.labels[k]] === a.labels[i] &&
      Buffer.from(a.images.subarray(i * 784, (i + 1) * 784)).equals(b.images.subarray(k * 784, (k + 1) * 784)),
  );
}

const images = first.train.count + first.test.count;
console.log(
  JSON.stringify({
    bench: 'image-folder',
    images,
    writeSeconds: +writeSeconds.toFixed(2),
    firstLoadSeconds: +decodeSeconds.toFixed(2),
    decodedPerSecond: Math.round(images / decodeSeconds),
    cachedLoadSeconds: +cachedSeconds.toFixed(3),
    cacheFile: cached.cacheFile,
    identicalToIdx: splits.every(([name, s]) => identical(s, name === 'train' ? cached.train : cached.test)),
    mean: cached.info.mean,
    std: cached.info.std,
    registry: { mean: idx.info.mean, std: idx.info.std },
    threads: os.availableParallelism(),
  }),
);
