// Fixed-point requantization: an int32 accumulator of a conv/dense layer becomes the code of the
// next layer's input grid, with the layer's scales, bias and batch norm folded into one integer
// multiplier M, offset B and shift S per output channel:
//
//   y / u_out = acc · a/u_out + b/u_out,     V = floor((acc·M + B) / 2^(S−F)),  M = round(a/u_out·2^S), B = round(b/u_out·2^S)
//
// V is y in units of u_out/2^F; the output code is the number of decision thresholds (midpoints
// between neighbouring levels, times 2^F) at or below V, raised to the level of zero after a ReLU.
// acc·M + B is evaluated exactly in float64 by splitting acc into 16-bit halves, so the portable
// path and the native int64/int128 kernel agree bit for bit.
import type { IntGrid } from '../../quant/grid.js';

/** Fractional bits of V. */
export const FRAC_BITS = 8;

export interface GridOutput {
  kind: 'grid';
  /** Thresholds in units of u_out / 2^F, ascending (integers). */
  thresholds: Float64Array;
  /** Output code of threshold index i (codes sort like values). */
  codeMin: number;
  /** Lowest index allowed (the level of zero after a ReLU, else 0). */
  minIndex: number;
  M: Float64Array;
  B: Float64Array;
  /** S − F per channel (≥ 16). */
  shift: Int32Array;
}

export interface FloatOutput {
  kind: 'float';
  a: Float64Array;
  b: Float64Array;
  relu: boolean;
}

/** floor((acc·M + B) / 2^shift), exactly, for |acc| < 2^31, |M| < 2^36, |B| < 2^52, shift ≥ 16. */
export function fixedPoint(acc: number, M: number, B: number, shift: number): number {
  const ah = Math.floor(acc / 65536),
    al = acc - ah * 65536;
  const t1 = ah * M,
    t2 = al * M + B;
  return Math.floor((t1 + Math.floor(t2 / 65536)) / 2 ** (shift - 16));
}

/** The per-channel requantization to `out` of y = acc·a + b (then ReLU if asked). */
export function gridOutput(a: Float64Array, b: Float64Array, relu: boolean, out: IntGrid, what: string): GridOutput {
  if (out.channels !== 1) throw new Error(`${what}: per-channel activation grids are not supported by the integer runtime`);
  const lv = out.levels[0],
    u = out.unit[0];
  // Levels in ascending order of value are the codes in order (codes sort like values).
  for (let i = 1; i < lv.length; i++) if (lv[i] < lv[i - 1]) throw new Error(`${what}: output levels are not ascending in code order`);
  const thresholds = Float64Array.from({ length: lv.length - 1 }, (_, i) => ((lv[i] + lv[i + 1]) / 2) * 2 ** FRAC_BITS);
  let minIndex = 0;
  if (relu) {
    minIndex = lv.findIndex((v) => v >= 0);
    if (minIndex < 0) minIndex = lv.length - 1;
  }
  const C = a.length;
  const M = new Float64Array(C),
    B = new Float64Array(C),
    shift = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    const ra = a[c] / u,
      rb = b[c] / u;
    // As many fraction bits as M (< 2^31) and B (< 2^51) allow; at least F + 16.
    let S = Math.min(50, 30 - Math.ceil(Math.log2(Math.abs(ra) || 1e-300)), 50 - Math.ceil(Math.log2(Math.abs(rb) + 1)));
    if (!Number.isFinite(S)) S = 50;
    S = Math.max(S, FRAC_BITS + 16);
    M[c] = Math.round(ra * 2 ** S);
    B[c] = Math.round(rb * 2 ** S);
    if (Math.abs(M[c]) >= 2 ** 36 || Math.abs(B[c]) >= 2 ** 52)
      throw new Error(`${what}: channel ${c} needs a rescale beyond the fixed-point range (a/u = ${ra}, b/u = ${rb})`);
    shift[c] = S - FRAC_BITS;
  }
  return { kind: 'grid', thresholds, codeMin: out.codeMin, minIndex, M, B, shift };
}

/** The output code for accumulator `acc` of channel c. */
export function requantize(o: GridOutput, acc: number, c: number): number {
  const V = fixedPoint(acc, o.M[c], o.B[c], o.shift[c]);
  // Number of thresholds <= V (binary search).
  const t = o.thresholds;
  let lo = 0,
    hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] <= V) lo = mid + 1;
    else hi = mid;
  }
  return o.codeMin + Math.max(lo, o.minIndex);
}
