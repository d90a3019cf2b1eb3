// Product quantization around the clustering: subvectors cut from a kernel and put back are the
// kernel; an input block dotted with the matching subvectors summed over channel groups is the
// conv's (or dense layer's) output — padding, stride and entry order included; centroid
// gradients are the mean of their members'; the storage count; the method end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tf } from '../../src/engine/tf.js';
import {
  centroidGradients,
  convGeometry,
  convInputBlock,
  convLayout,
  denseLayout,
  fromCentroids,
  toSubvectors,
} from '../../src/quant/product-blocks.js';
import { pqBitsPerWeight, pqOptionsSchema } from '../../src/train/methods/pq.js';
import { engine } from '../helpers/compare.js';

await engine();

let seed = 3;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0), seed / 2 ** 32 - 0.5);

test('subvectors cut from a kernel and put back give the kernel', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      (kh, kw, m, groups, cout) => {
        const shape = [kh, kw, m * groups, cout];
        const l = convLayout(shape, m, [1, 1], 'same', 'c');
        const k = Float32Array.from({ length: kh * kw * m * groups * cout }, rnd);
        const sub = toSubvectors(l, k);
        // Every subvector its own centroid: decoding is the identity.
        const back = fromCentroids(
          l,
          sub,
          Uint32Array.from({ length: l.count }, (_, i) => i),
          new Float32Array(k.length),
        );
        assert.deepEqual(back, k);
      },
    ),
    { numRuns: 60 },
  );
  const d = denseLayout([8, 3], 4, 'fc');
  const k = Float32Array.from({ length: 24 }, rnd);
  assert.deepEqual(
    fromCentroids(
      d,
      toSubvectors(d, k),
      Uint32Array.from({ length: d.count }, (_, i) => i),
      new Float32Array(24),
    ),
    k,
  );
  assert.throws(() => denseLayout([6, 3], 4, 'fc'), /layer fc has 6 inputs, not a multiple of the block size 4/);
  assert.throws(
    () => convLayout([3, 3, 3, 8], 2, [1, 1], 'same', 'c'),
    /layer c has 3 input channels, not a multiple of 2 channels per block/,
  );
});

test('input blocks · subvectors, summed over channel groups, are the conv output (padding, stride, order)', () => {
  for (const [h, w, kh, kw, cin, cout, m, stride, padding] of [
    [7, 6, 3, 3, 4, 5, 1, 1, 'same'],
    [7, 6, 3, 3, 4, 5, 2, 2, 'same'],
    [8, 8, 5, 5, 2, 3, 1, 1, 'valid'],
    [6, 7, 3, 2, 2, 2, 2, 2, 'valid'],
  ] as const) {
    const shape = [kh, kw, cin, cout];
    const l = convLayout(shape, m, [stride, stride], padding, 'c');
    const x = Float32Array.from({ length: 2 * h * w * cin }, rnd);
    const k = Float32Array.from({ length: kh * kw * cin * cout }, rnd);
    const y = tf.tidy(() =>
      tf.conv2d(tf.tensor4d(x, [2, h, w, cin]), tf.tensor4d(k, shape as [number, number, number, number]), stride, padding),
    );
    const yv = y.dataSync() as Float32Array;
    const [, oh, ow] = y.shape;
    y.dispose();
    const g = convGeometry(l, h, w);
    assert.deepEqual([g.oh, g.ow], [oh, ow]);
    const sub = toSubvectors(l, k);
    const blk = new Float32Array(l.d);
    const groups = cin / m;
    for (let i = 0; i < 2; i++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let o = 0; o < cout; o++) {
            let s = 0;
            for (let gr = 0; gr < groups; gr++) {
              convInputBlock(l, x, [2, h, w, cin], i, oy, ox, gr, blk, 0);
              for (let t = 0; t < l.d; t++) s += blk[t] * sub[(o * groups + gr) * l.d + t];
            }
            const ref = yv[((i * oh + oy) * ow + ox) * cout + o];
            assert.ok(
              Math.abs(s - ref) < 1e-4,
              `${h}x${w} k${kh}x${kw} m${m} s${stride} ${padding} at ${i},${oy},${ox},${o}: ${s} vs ${ref}`,
            );
          }
  }
});

test('a centroid moves by the mean gradient of its subvectors', () => {
  const l = denseLayout([4, 2], 2, 'fc'); // subvectors: (out 0: in 0-1, in 2-3), (out 1: in 0-1, in 2-3)
  // Kernel gradient [in, out]: entry (i, o) = 10·i + o.
  const g = Float32Array.from({ length: 8 }, (_, j) => 10 * Math.floor(j / 2) + (j % 2));
  const assign = Uint32Array.of(0, 1, 0, 2); // centroid 0 takes subvectors 0 and 2, centroid 3 none
  const cg = centroidGradients(l, g, assign, 4);
  // Subvector 0 = (out 0, in 0-1): grads (0, 10); subvector 2 = (out 1, in 0-1): (1, 11) → mean (0.5, 10.5).
  assert.deepEqual(Array.from(cg), [0.5, 10.5, 20, 30, 21, 31, 0, 0]);
});

test('storage: log2(k)/d index bits plus fp16 centroids', () => {
  const b = pqBitsPerWeight(256, 9, 589824);
  assert.equal(b.index, 8 / 9);
  assert.ok(Math.abs(b.codebook - (256 * 9 * 16) / 589824) < 1e-12);
  assert.throws(() => pqOptionsSchema.parse({ k: 1 }), /k/);
  assert.throws(() => pqOptionsSchema.parse({ blocksize: 9 }), /blocksize/);
});
