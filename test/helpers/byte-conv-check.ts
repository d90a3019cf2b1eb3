// The checks shared by the byte paths of the integer conv (native/src/intgemm.cc and
// native/wasm/qconv.c) against the TypeScript conv: the random-geometry corpus, and layers large
// enough to span several panels and channel blocks. Each path supplies how it runs a case.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import './fast-check-setup.js';
import { outputBytes } from '../../src/deploy/runtime/native-conv.js';
import type { WeightTable } from '../../src/deploy/runtime/byte-weights.js';
import { geometry, intConv, maxPool, type Geometry } from '../../src/deploy/runtime/ops.js';
import { toBytes, type FValue, type QValue, type Value } from '../../src/deploy/runtime/values.js';
import { gridOutput, type FloatOutput, type GridOutput } from '../../src/deploy/runtime/requant.js';
import type { IntGrid } from '../../src/quant/grid.js';
import { convCase, convCaseArb, grid, range } from './conv-corpus.js';

/** One conv on a byte path, or null where that path refuses the case (the caller says which refusals are right). */
export interface ByteConv {
  prepare(wl: Int32Array, K: number, cout: number, inGrid: IntGrid, table: WeightTable | undefined): unknown;
  run(
    prepared: unknown,
    bytes: Uint8Array,
    shape: number[],
    g: Geometry,
    out: GridOutput | FloatOutput,
    target: { grid: IntGrid; bytes: Uint8Array } | null,
  ): QValue | FValue;
}

function same(got: Value, want: Value, outGrid: IntGrid | null, what: string): void {
  if (want.kind === 'f') {
    assert.equal(got.kind, 'f', what);
    assert.deepEqual(Array.from((got as FValue).data), Array.from(want.data), what);
  } else {
    assert.equal(got.kind, 'q', what);
    assert.deepEqual(Array.from(toBytes(got as QValue)), Array.from(toBytes({ ...want, grid: outGrid! })), what);
  }
}

/** The corpus through `path`; returns how many cases it ran (the rest it refused, and `refusalOk` agreed). */
export function corpusAgainstTypeScript(path: ByteConv, refusalOk: (wl: Int32Array) => boolean, numRuns = 300): number {
  let ran = 0;
  fc.assert(
    fc.property(convCaseArb, (o) => {
      const k = convCase(o);
      if (!k) return;
      const { g, K, shape, wl, index, set, inGrid, codes, levels, out, outGrid } = k;
      const c = path.prepare(wl, K, o.cout, inGrid, set ? { index, levels: set } : undefined);
      if (!c) return assert.ok(refusalOk(wl), `refused ${JSON.stringify(o)}`);
      ran++;
      const want = intConv(levels, shape, wl, o.cout, g, out);
      const bytes = toBytes({ kind: 'q', codes, bytes: null, shape, grid: inGrid });
      same(
        path.run(c, bytes, shape, g, out, outGrid ? { grid: outGrid, bytes: outputBytes(outGrid) } : null),
        want,
        outGrid,
        JSON.stringify(o),
      );
    }),
    { numRuns },
  );
  return ran;
}

/**
 * Layers larger than one panel (a conv with many pixels, a dense layer with one wide panel), with
 * 4-bit table weights on 4-bit inputs and 8-bit weights on 8-bit inputs; `check` sees each prepared layer.
 */
export function largeLayersAgainstTypeScript(path: ByteConv, check?: (prepared: unknown, table: boolean) => void): void {
  for (const [n, h, w, c, k, cout] of [
    [4, 12, 12, 64, 3, 40],
    [70, 1, 1, 600, 1, 100],
    [300, 5, 5, 3, 5, 6],
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
      const g = geometry(h, w, k, k, 1, 1, k === 5 ? 'valid' : 'same');
      const outGrid = grid(range(0, 15));
      const a = Float64Array.from({ length: cout }, () => (r(100) + 1) * 1e-4);
      const b = Float64Array.from({ length: cout }, () => (r(200) - 100) * 1e-2);
      const out = gridOutput(a, b, true, outGrid, 'test');
      const levels = Int32Array.from(codes, (q) => inGrid.levels[0][q]);
      const want = intConv(levels, shape, wl, cout, g, out);
      const cv = path.prepare(wl, K, cout, inGrid, table ? { index, levels: set } : undefined);
      assert.ok(cv, 'prepared');
      check?.(cv, table);
      const got = path.run(cv, toBytes({ kind: 'q', codes, bytes: null, shape, grid: inGrid }), shape, g, out, {
        grid: outGrid,
        bytes: outputBytes(outGrid),
      });
      same(got, want, outGrid, `${n}x${h}x${w}x${c} k${k} -> ${cout}, table ${table}`);
    }
  }
}

/** A byte path's conv with a following 2×2, stride-2 max pool fused in, where it can fuse one. */
export interface PoolingByteConv extends ByteConv {
  poolable(prepared: unknown, shape: number[], g: Geometry, out: GridOutput | FloatOutput): boolean;
  runPooled(
    prepared: unknown,
    bytes: Uint8Array,
    shape: number[],
    g: Geometry,
    out: GridOutput | FloatOutput,
    target: { grid: IntGrid; bytes: Uint8Array },
  ): QValue | FValue;
}

/** The corpus's poolable cases through `path` with the pool fused, against the TypeScript conv then pool; returns how many ran. */
export function pooledCorpusAgainstTypeScript(path: PoolingByteConv, numRuns = 900): number {
  let ran = 0;
  fc.assert(
    fc.property(convCaseArb, (o) => {
      const k = convCase(o);
      if (!k || !k.outGrid) return;
      const c = path.prepare(k.wl, k.K, o.cout, k.inGrid, k.set ? { index: k.index, levels: k.set } : undefined);
      if (!c || !path.poolable(c, k.shape, k.g, k.out)) return;
      const target = { grid: k.outGrid, bytes: outputBytes(k.outGrid) };
      const conv = intConv(k.levels, k.shape, k.wl, o.cout, k.g, k.out) as QValue;
      const want = maxPool({ ...conv, grid: k.outGrid }, geometry(k.g.outH, k.g.outW, 2, 2, 2, 2, 'valid')) as QValue;
      const got = path.runPooled(
        c,
        toBytes({ kind: 'q', codes: k.codes, bytes: null, shape: k.shape, grid: k.inGrid }),
        k.shape,
        k.g,
        k.out,
        target,
      );
      assert.deepEqual(got.shape, want.shape, JSON.stringify(o));
      assert.deepEqual(Array.from(toBytes(got as QValue)), Array.from(toBytes({ ...want, grid: k.outGrid })), JSON.stringify(o));
      ran++;
    }),
    { numRuns },
  );
  return ran;
}
