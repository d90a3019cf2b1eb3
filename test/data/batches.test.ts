// Normalization, augmentation and seeded shuffling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { makeBatch, normalizationTable } from '../../src/data/batches.js';
import { datasetInfo } from '../../src/data/datasets.js';
import { deriveSeed, makeRng, permutation } from '../../src/data/rng.js';
import { parseCifarBatch } from '../../src/data/cifar.js';
import { cifarBatch } from '../helpers/fixtures.js';

test('permutation is a permutation, and the same seed gives the same order', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
      const p = permutation(n, makeRng(seed));
      const sorted = Array.from(p).sort((a, b) => a - b);
      return sorted.every((v, i) => v === i) && Array.from(permutation(n, makeRng(seed))).join() === Array.from(p).join();
    }),
  );
  assert.notEqual(deriveSeed(1, 'shuffle', 0), deriveSeed(1, 'shuffle', 1));
  assert.notEqual(deriveSeed(1, 'shuffle', 0), deriveSeed(2, 'shuffle', 0));
});

test('rng is roughly uniform', () => {
  const r = makeRng(3);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 100000; i++) bins[r.int(10)]++;
  for (const b of bins) assert.ok(Math.abs(b - 10000) < 500, `bin ${b}`);
});

test('batches normalize with the dataset statistics', () => {
  const info = datasetInfo('cifar10');
  const split = parseCifarBatch(cifarBatch(4), 'b');
  const lut = normalizationTable(info);
  const { x, y } = makeBatch(split, info, [2, 0], lut);
  assert.deepEqual(x.shape, [2, 32, 32, 3]);
  assert.deepEqual(Array.from(y.dataSync()), [split.labels[2], split.labels[0]]);
  const v = x.dataSync();
  for (const i of [0, 1, 2, 100, 3071]) {
    const raw = split.images[2 * 3072 + i];
    assert.ok(Math.abs(v[i] - (raw / 255 - info.mean[i % 3]) / info.std[i % 3]) < 1e-6);
  }
});

test('augmentation: every output pixel is a shifted/flipped source pixel or padding, reproducible by seed', () => {
  const info = datasetInfo('cifar10');
  const split = parseCifarBatch(cifarBatch(8, 5), 'b');
  const lut = normalizationTable(info);
  const a = makeBatch(split, info, [0, 1, 2, 3, 4, 5, 6, 7], lut, { augment: true, rng: makeRng(4) }).x.dataSync();
  const b = makeBatch(split, info, [0, 1, 2, 3, 4, 5, 6, 7], lut, { augment: true, rng: makeRng(4) }).x.dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  const plain = makeBatch(split, info, [0, 1, 2, 3, 4, 5, 6, 7], lut).x.dataSync();
  assert.notDeepEqual(Array.from(a), Array.from(plain));
  // Find, for image 0, a (dy, dx, flip) that explains every pixel.
  const img = a.subarray(0, 3072),
    src = split.images.subarray(0, 3072);
  let explained = false;
  for (let dy = -4; dy <= 4 && !explained; dy++)
    for (let dx = -4; dx <= 4 && !explained; dx++)
      for (const flip of [false, true]) {
        let ok = true;
        for (let r = 0; r < 32 && ok; r++)
          for (let c = 0; c < 32 && ok; c++) {
            const sr = r + dy,
              sc = (flip ? 31 - c : c) + dx;
            for (let ch = 0; ch < 3; ch++) {
              const want = sr < 0 || sr > 31 || sc < 0 || sc > 31 ? lut[ch][0] : lut[ch][src[(sr * 32 + sc) * 3 + ch]];
              if (Math.abs(img[(r * 32 + c) * 3 + ch] - want) > 1e-6) ok = false;
            }
          }
        if (ok) explained = true;
      }
  assert.ok(explained, 'augmented image is not a crop/flip of the source');
});
