// MPQ's bookkeeping: switch counting and the frequency EMA by hand, the threshold-aware learning
// rate by hand, native equal to TypeScript bit for bit, and the grant by threshold or budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleNearThresholds, trackCodes } from '../../src/train/methods/mpq-track.js';
import { grantFlags, mpqOptionsSchema } from '../../src/train/methods/mpq.js';
import { engine, withNative } from '../helpers/compare.js';

const hasNative = await engine();
const paths = hasNative ? [true, false] : [false];

test('a switch is a move to a contiguous level; the frequency is an EMA of switches', () => {
  for (const native of paths)
    withNative(native, () => {
      const scale = Float32Array.from([1]);
      const codes = new Int8Array(3),
        freq = new Float32Array(3);
      // Step 0 records codes 0, 1, 3 (3.4 saturates at qmax 3).
      assert.equal(trackCodes(Float32Array.from([0.2, 0.9, 3.4]), scale, 3, codes, freq, 0.5, true), 0);
      assert.deepEqual(Array.from(codes), [0, 1, 3]);
      // Step 1: 0 -> 1 (switch), 1 -> -1 (a jump of two levels, not a switch), 3 -> 3.
      assert.equal(trackCodes(Float32Array.from([0.6, -1.2, 2.6]), scale, 3, codes, freq, 0.5, false), 1);
      assert.deepEqual(Array.from(codes), [1, -1, 3]);
      assert.deepEqual(Array.from(freq), [0.5, 0, 0]);
      // Step 2: 1 -> 0 (switch): freq = 0.5·0.5 + 0.5 = 0.75.
      trackCodes(Float32Array.from([0.4, -1.2, 2.6]), scale, 3, codes, freq, 0.5, false);
      assert.deepEqual(Array.from(freq), [0.75, 0, 0], `native=${native}`);
    });
});

test('threshold-aware learning rate scales gradients near decision thresholds only', () => {
  for (const native of paths)
    withNative(native, () => {
      const w = Float32Array.from([0.45, 0.3, 3.6, 0.27, -1.52]);
      const g = Float32Array.from([1, 1, 1, 1, 1]);
      const flags = Uint8Array.from([0, 0, 0, 1, 0]);
      const out = new Float32Array(5);
      const n = scaleNearThresholds(w, g, Float32Array.from([1]), 3, flags, 0.1, 0.25, out);
      // 0.45 is 0.05Δ from 0.5 (scaled); 0.3 is 0.2Δ away; 3.6 is past the last level (no threshold);
      // flagged 0.27 is 0.02 from the half-step threshold 0.25 (scaled); -1.52 is 0.02 from -1.5.
      assert.deepEqual(Array.from(out), [0.25, 1, 1, 0.25, 0.25], `native=${native}`);
      assert.equal(n, 3);
    });
});

test('native tracking and scaling equal the TypeScript reference bit for bit', { skip: !hasNative }, () => {
  const n = 100_003,
    C = 7;
  let s = 9;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32 - 0.5);
  const scale = Float32Array.from({ length: C }, (_, c) => 0.05 + 0.01 * c);
  const run = (native: boolean) =>
    withNative(native, () => {
      s = 9;
      const codes = new Int8Array(n),
        freq = new Float32Array(n);
      let w = Float32Array.from({ length: n }, rnd);
      trackCodes(w, scale, 3, codes, freq, 0.01, true);
      let sw = 0;
      for (let step = 0; step < 5; step++) {
        w = w.map((v) => v + 0.02 * rnd());
        sw += trackCodes(w, scale, 3, codes, freq, 0.01, false);
      }
      const flags = Uint8Array.from(freq, (f) => (f > 0.015 ? 1 : 0));
      const out = new Float32Array(n);
      const scaled = scaleNearThresholds(
        w,
        Float32Array.from(w, (v) => v * 3),
        scale,
        3,
        flags,
        0.1,
        0.5,
        out,
      );
      return { codes, freq, out, sw, scaled };
    });
  const a = run(true),
    b = run(false);
  assert.deepEqual(a.codes, b.codes);
  assert.deepEqual(a.freq, b.freq);
  assert.deepEqual(a.out, b.out);
  assert.equal(a.sw, b.sw);
  assert.equal(a.scaled, b.scaled);
  assert.ok(a.sw > 0 && a.scaled > 0);
});

test('the extra bit goes to frequencies above τ, or to the top share under a budget', () => {
  const f1 = Float32Array.from([0, 0.3, 0.1, 0.05]),
    f2 = Float32Array.from([0.3, 0.2, 0, 0]);
  assert.deepEqual(
    grantFlags([f1, f2], { tau: 0.1 }).map((a) => Array.from(a)),
    [
      [0, 1, 0, 0],
      [1, 1, 0, 0],
    ],
  );
  // Budget 3 of 8: 0.3, 0.3, 0.2.
  assert.deepEqual(
    grantFlags([f1, f2], { budget: 3 / 8 }).map((a) => Array.from(a)),
    [
      [0, 1, 0, 0],
      [1, 1, 0, 0],
    ],
  );
  // Budget 2 of 8 with a tie at the cut (0.3, 0.3): exactly two.
  assert.equal(
    grantFlags([f1, f2], { budget: 2 / 8 }).reduce((a, f) => a + f.reduce((x, y) => x + y, 0), 0),
    2,
  );
  // A budget larger than the switchers: weights that never switched stay unflagged.
  assert.deepEqual(
    grantFlags([f1, f2], { budget: 1 }).map((a) => Array.from(a)),
    [
      [0, 1, 1, 1],
      [1, 1, 0, 0],
    ],
  );
  assert.throws(() => mpqOptionsSchema.parse({ tau: 0.1, budget: 0.1 }), /either tau .* or budget/);
});
