// The native integer GEMM against a plain loop: every shape (rows not a multiple of 4, outputs
// not a multiple of 8, reductions not a multiple of 4), both the maddubs and the exact 16-bit
// paths, and the offset correction for signed activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { activeNative } from '../../src/engine/state.js';
import { prepareNativeConv } from '../../src/deploy/runtime/native-conv.js';
import { engine } from '../helpers/compare.js';

const hasNative = await engine();

test('qgemm equals the plain integer product', { skip: !hasNative }, () => {
  const addon = activeNative()!;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 13 }),
      fc.integer({ min: 1, max: 70 }),
      fc.integer({ min: 1, max: 21 }),
      fc.constantFrom(1, 3, 7, 15, 127, 255),
      fc.boolean(),
      fc.nat(),
      (P, K, N, amax, signed, seed) => {
        let s = seed;
        const r = (n: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % n);
        const wl = Int32Array.from({ length: K * N }, () => r(256) - 128);
        // An input grid: levels 0..amax, or signed levels -127..127 (offset 128 in the kernel).
        const levels = signed ? Int32Array.from({ length: 255 }, (_, i) => i - 127) : Int32Array.from({ length: amax + 1 }, (_, i) => i);
        const grid = { codeMin: 0, codeMax: levels.length - 1, levels: [levels], unit: Float64Array.of(1), channels: 1 };
        const c = prepareNativeConv(wl, K, N, grid)!;
        const codes = Int32Array.from({ length: P * K }, () => r(levels.length));
        // A 1×1 "image" of K channels per row: im2col is the identity.
        const a = new Uint8Array(P * c.kp);
        addon.im2colCodes(codes, Int32Array.from([P, 1, 1, K, 1, 1, 1, 1, 1, 1, 0, 0, 1]), 1, c.lut, 0, c.offset, c.kp, a);
        const acc = new Int32Array(P * N);
        addon.qgemm(a, c.wp, P, c.kp, N, acc, c.steps, c.corr);
        for (let p = 0; p < P; p++)
          for (let n = 0; n < N; n++) {
            let want = 0;
            for (let k = 0; k < K; k++) want += levels[codes[p * K + k]] * wl[k * N + n];
            assert.equal(acc[p * N + n], want, `P=${P} K=${K} N=${N} amax=${amax} signed=${signed} at ${p},${n}`);
          }
      },
    ),
    { numRuns: 150 },
  );
});
