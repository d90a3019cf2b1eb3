// The random-geometry corpus of the integer conv kernels (native/src/intgemm.cc and directconv.cc,
// native/wasm/qconv.c) against the TypeScript conv: odd sizes, padding, strides, dilations, outputs
// not a multiple of the channel blocks, reductions not a multiple of 16, small and 8-bit levels,
// signed grids, weights through 2- and 4-bit level tables, float outputs and grid outputs (uniform,
// non-uniform, ReLU), channels scaled up and down.
import fc from 'fast-check';
import { geometry, type Geometry } from '../../src/deploy/runtime/ops.js';
import { gridOutput, type FloatOutput, type GridOutput } from '../../src/deploy/runtime/requant.js';
import type { IntGrid } from '../../src/quant/grid.js';

export const grid = (levels: Int32Array): IntGrid => ({
  codeMin: 0,
  codeMax: levels.length - 1,
  levels: [levels],
  unit: Float64Array.of(1),
  channels: 1,
});
export const range = (lo: number, hi: number) => Int32Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

// Weight level sets: stored as s8 (no table, or more than 16 levels), 4-bit and 2-bit tables.
const weightSets: Record<string, Int32Array | null> = {
  s8w1: null,
  s8w7: null,
  s8w127: null,
  int4: range(-8, 7),
  po2: Int32Array.of(-8, -4, -2, -1, 0, 1, 2, 4, 8),
  ternary: Int32Array.of(-1, 0, 1),
  int2: range(-2, 1),
};
const wmaxOf: Record<string, number> = { s8w1: 1, s8w7: 7, s8w127: 127 };
// Output grids: uniform (thresholds a power of two apart) and non-uniform.
const outSets: Record<string, Int32Array> = {
  u4: range(0, 15),
  s8: range(-128, 127),
  dybitLike: Int32Array.of(-12, -6, -3, -1, 0, 1, 3, 6, 12),
};

/** The fast-check arbitrary of one conv case. */
export const convCaseArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  c: fc.integer({ min: 1, max: 40 }),
  k: fc.integer({ min: 1, max: 3 }),
  s: fc.integer({ min: 1, max: 2 }),
  same: fc.boolean(),
  // Dilation, mostly none: vertical only keeps window rows contiguous, horizontal does not.
  dh: fc.constantFrom(1, 1, 1, 2),
  dw: fc.constantFrom(1, 1, 1, 2),
  cout: fc.integer({ min: 1, max: 40 }),
  amax: fc.constantFrom(1, 3, 15, 127, 255),
  weights: fc.constantFrom(...Object.keys(weightSets)),
  signed: fc.boolean(),
  output: fc.constantFrom('float', 'floatRelu', ...Object.keys(outSets)),
  relu: fc.boolean(),
  seed: fc.nat(),
});

export type ConvCaseInput = typeof convCaseArb extends fc.Arbitrary<infer T> ? T : never;

export interface ConvCase {
  g: Geometry;
  K: number;
  shape: number[];
  wl: Int32Array;
  /** Weight indices into `set` (null: weights stored as s8 levels). */
  index: Int32Array;
  set: Int32Array | null;
  inGrid: IntGrid;
  codes: Int32Array;
  levels: Int32Array;
  out: GridOutput | FloatOutput;
  outGrid: IntGrid | null;
}

/** The case's tensors, or null when the geometry has no output. */
export function convCase(o: ConvCaseInput): ConvCase | null {
  let s = o.seed;
  const r = (m: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % m);
  const g = geometry(o.h, o.w, o.k, o.k, o.s, o.s, o.same ? 'same' : 'valid', o.dh, o.dw);
  if (g.outH < 1 || g.outW < 1) return null;
  const K = o.k * o.k * o.c;
  const set = weightSets[o.weights];
  const index = Int32Array.from({ length: K * o.cout }, () => r(set ? set.length : 2 * wmaxOf[o.weights] + 1));
  const wl = set ? Int32Array.from(index, (i) => set[i]) : Int32Array.from(index, (i) => i - wmaxOf[o.weights]);
  const inGrid = grid(o.signed ? range(-127, 127) : range(0, o.amax));
  const shape = [o.n, o.h, o.w, o.c];
  const codes = Int32Array.from({ length: o.n * o.h * o.w * o.c }, () => r(inGrid.levels[0].length));
  // Some channels scale negatively (a batch norm's negative gamma): their epilogue falls as the sum rises.
  const a = Float64Array.from({ length: o.cout }, () => (r(4) === 0 ? -1 : 1) * (r(2000) + 1) * 1e-5);
  const b = Float64Array.from({ length: o.cout }, () => (r(2000) - 1000) * 1e-3);
  const outGrid = outSets[o.output] ? grid(outSets[o.output]) : null;
  const out = outGrid
    ? gridOutput(a, b, o.relu, outGrid, 'test')
    : ({ kind: 'float', a, b, relu: o.output === 'floatRelu' } satisfies FloatOutput);
  const levels = Int32Array.from(codes, (q) => inGrid.levels[0][q]);
  return { g, K, shape, wl, index, set, inGrid, codes, levels, out, outGrid };
}
