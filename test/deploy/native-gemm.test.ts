// The native integer conv (window gathering, AVX2 GEMM, epilogue) against the TypeScript one on
// random geometries: odd sizes, padding, strides, outputs not a multiple of 8, reductions not a
// multiple of 4, small levels (int16 accumulation), 8-bit levels (the exact 16-bit path) and
// signed grids (offset correction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { activeNative } from '../../src/engine/state.js';
import { nativeConv, prepareNativeConv } from '../../src/deploy/runtime/native-conv.js';
import { geometry, intConv } from '../../src/deploy/runtime/ops.js';
import { toBytes } from '../../src/deploy/runtime/values.js';
import type { FloatOutput } from '../../src/deploy/runtime/requant.js';
import { engine } from '../helpers/compare.js';

const hasNative = await engine();

test('native integer conv equals the TypeScript conv', { skip: !hasNative }, () => {
  const addon = activeNative()!;
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 1, max: 7 }),
        w: fc.integer({ min: 1, max: 7 }),
        c: fc.integer({ min: 1, max: 9 }),
        k: fc.integer({ min: 1, max: 3 }),
        s: fc.integer({ min: 1, max: 2 }),
        same: fc.boolean(),
        cout: fc.integer({ min: 1, max: 21 }),
        amax: fc.constantFrom(1, 3, 15, 127, 255),
        wmax: fc.constantFrom(1, 7, 127),
        signed: fc.boolean(),
        seed: fc.nat(),
      }),
      (o) => {
        let s = o.seed;
        const r = (m: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % m);
        const g = geometry(o.h, o.w, o.k, o.k, o.s, o.s, o.same ? 'same' : 'valid');
        if (g.outH < 1 || g.outW < 1) return;
        const K = o.k * o.k * o.c;
        const wl = Int32Array.from({ length: K * o.cout }, () => r(2 * o.wmax + 1) - o.wmax);
        const levels = o.signed
          ? Int32Array.from({ length: 255 }, (_, i) => i - 127)
          : Int32Array.from({ length: o.amax + 1 }, (_, i) => i);
        const grid = { codeMin: 0, codeMax: levels.length - 1, levels: [levels], unit: Float64Array.of(1), channels: 1 };
        const shape = [o.n, o.h, o.w, o.c];
        const codes = Int32Array.from({ length: o.n * o.h * o.w * o.c }, () => r(levels.length));
        const x = { kind: 'q' as const, codes, bytes: null, shape, grid };
        const out: FloatOutput = { kind: 'float', a: new Float64Array(o.cout).fill(1), b: new Float64Array(o.cout), relu: false };
        const want = intConv(
          Int32Array.from(codes, (q) => levels[q]),
          shape,
          wl,
          o.cout,
          g,
          out,
        );
        const c = prepareNativeConv(wl, K, o.cout, grid)!;
        const got = nativeConv(addon, c, toBytes(x), shape, g, out, null);
        assert.equal(got.kind, 'f');
        assert.deepEqual(
          Array.from((got as { data: Float32Array }).data),
          Array.from((want as { data: Float32Array }).data),
          JSON.stringify(o),
        );
      },
    ),
    { numRuns: 200 },
  );
});
