// The native integer conv (panel gathering, blocked AVX2 GEMM, epilogue) against the TypeScript
// one on random geometries: odd sizes, padding, strides, outputs not a multiple of the 16-channel
// block, reductions not a multiple of 16, small levels (maddubs with int16 sums), 8-bit levels
// (the exact 16-bit kernel), signed grids (offset correction), weights stored at 2 and 4 bits
// through a level table, float outputs and grid outputs (uniform thresholds by shift, others by
// search, ReLU floors), and shapes large enough to span several panels and work items.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { nativeConv, outputBytes, prepareNativeConv, qconvKernels } from '../../src/deploy/runtime/native-conv.js';
import { geometry, intConv } from '../../src/deploy/runtime/ops.js';
import { toBytes } from '../../src/deploy/runtime/values.js';
import { gridOutput, type FloatOutput } from '../../src/deploy/runtime/requant.js';
import type { IntGrid } from '../../src/quant/grid.js';
import { engine } from '../helpers/compare.js';
import { convCase, convCaseArb, grid, range } from '../helpers/conv-corpus.js';

const hasNative = await engine();

test('native integer conv equals the TypeScript conv', { skip: !hasNative }, () => {
  const addon = qconvKernels()!;
  fc.assert(
    fc.property(convCaseArb, (o) => {
      const k = convCase(o);
      if (!k) return;
      const { g, K, shape, wl, index, set, inGrid, codes, levels, out, outGrid } = k;
      const x = { kind: 'q' as const, codes, bytes: null, shape, grid: inGrid };
      const want = intConv(levels, shape, wl, o.cout, g, out);
      const c = prepareNativeConv(wl, K, o.cout, inGrid, set ? { index, levels: set } : undefined)!;
      const got = nativeConv(addon, c, toBytes(x), shape, g, out, outGrid ? { grid: outGrid, bytes: outputBytes(outGrid) } : null);
      if (want.kind === 'f') {
        assert.equal(got.kind, 'f');
        assert.deepEqual(Array.from((got as { data: Float32Array }).data), Array.from(want.data), JSON.stringify(o));
      } else {
        assert.equal(got.kind, 'q');
        const wantBytes = toBytes({ ...want, grid: outGrid! });
        assert.deepEqual(Array.from(toBytes(got as never)), Array.from(wantBytes), JSON.stringify(o));
      }
    }),
    { numRuns: 300 },
  );
});

test('native integer conv splits large layers over panels and channel blocks exactly', { skip: !hasNative }, () => {
  const addon = qconvKernels()!;
  // A conv with more pixels than one panel holds, and a dense layer with one panel whose
  // channel blocks are shared between work items; 4-bit table weights and 8-bit s8 weights.
  for (const [n, h, w, c, k, cout] of [
    [4, 12, 12, 64, 3, 40],
    [70, 1, 1, 600, 1, 100],
  ]) {
    for (const table of [true, false]) {
      let s = n * 7 + cout;
      const r = (m: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % m);
      const K = k * k * c;
      const set = range(-8, 7);
      const index = Int32Array.from({ length: K * cout }, () => r(16));
      const wl = table ? Int32Array.from(index, (i) => set[i]) : Int32Array.from(index, () => r(255) - 127);
      const inGrid = grid(range(0, table ? 15 : 255));
      const shape = [n, h, w, c];
      const codes = Int32Array.from({ length: n * h * w * c }, () => r(inGrid.levels[0].length));
      const g = geometry(h, w, k, k, 1, 1, 'same');
      const outGrid = grid(range(0, 15));
      const a = Float64Array.from({ length: cout }, () => (r(100) + 1) * 1e-4);
      const b = Float64Array.from({ length: cout }, () => (r(200) - 100) * 1e-2);
      const out = gridOutput(a, b, true, outGrid, 'test');
      const want = intConv(
        Int32Array.from(codes, (q) => inGrid.levels[0][q]),
        shape,
        wl,
        cout,
        g,
        out,
      );
      const cv = prepareNativeConv(wl, K, cout, inGrid, table ? { index, levels: set } : undefined)!;
      assert.equal(cv.meta[5], table ? 4 : 8, 'weights stored at 4 bits through the table');
      assert.equal(cv.meta[4], table ? 0 : 1, 'kernel chosen by the value ranges');
      const got = nativeConv(addon, cv, toBytes({ kind: 'q', codes, bytes: null, shape, grid: inGrid }), shape, g, out, {
        grid: outGrid,
        bytes: outputBytes(outGrid),
      });
      assert.deepEqual(toBytes(got as never), toBytes({ ...(want as never as { kind: 'q' }), grid: outGrid } as never));
    }
  }
});
