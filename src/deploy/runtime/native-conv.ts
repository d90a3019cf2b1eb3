// The native path of an integer conv/dense layer (native/src/intgemm.cc): codes → uint8 levels
// (im2col), an AVX2 u8×s8 GEMM into int32, and the same fixed-point epilogue as requant.ts.
// Prepared once per layer at load; used when the addon is active, bit-exact with ops.ts.
import type { NativeAddon } from '../../engine/native.js';
import type { IntGrid } from './grid.js';
import type { Geometry, QValue, Value } from './ops.js';
import type { FloatOutput, GridOutput } from './requant.js';

export interface NativeConv {
  wp: Int8Array;
  kp: number;
  k: number;
  cout: number;
  lut: Uint8Array;
  codeMin: number;
  offset: number;
  /** Groups of 4 products that may add up in int16 before widening (0: the exact 16-bit path). */
  steps: number;
  corr: Int32Array | null;
}

/**
 * Packs weight levels ([K, cout], K = kh·kw·cin) into blocks of 8 outputs × 4 reduction
 * entries, and the input grid's levels into uint8; null if the levels do not fit 8 bits.
 */
export function prepareNativeConv(wl: Int32Array, k: number, cout: number, input: IntGrid): NativeConv | null {
  for (const v of wl) if (v < -128 || v > 127) return null;
  const lv = input.levels[0];
  const offset = lv.every((v) => v >= 0) ? 0 : 128;
  if (lv.some((v) => v + offset < 0 || v + offset > 255)) return null;
  const kp = Math.ceil(k / 4) * 4,
    nb = Math.ceil(cout / 8);
  const wp = new Int8Array(nb * kp * 8);
  for (let kk = 0; kk < k; kk++)
    for (let n = 0; n < cout; n++) wp[((Math.floor(n / 8) * (kp / 4) + (kk >> 2)) * 8 + (n % 8)) * 4 + (kk & 3)] = wl[kk * cout + n];
  let corr: Int32Array | null = null;
  if (offset) {
    corr = new Int32Array(cout);
    for (let kk = 0; kk < k; kk++) for (let n = 0; n < cout; n++) corr[n] += offset * wl[kk * cout + n];
  }
  const lut = Uint8Array.from(lv, (v) => v + offset);
  let amax = 0,
    wmax = 1;
  for (const v of lut) amax = Math.max(amax, v);
  for (const v of wl) wmax = Math.max(wmax, Math.abs(v));
  // A maddubs pair sum is at most 2·amax·wmax; `steps` of them must stay inside int16.
  const steps = amax > 127 ? 0 : Math.max(1, Math.min(64, Math.floor(32767 / (2 * Math.max(1, amax) * wmax))));
  return { wp, kp, k, cout, lut, codeMin: input.codeMin, offset, steps, corr };
}

export function nativeConv(
  addon: NativeAddon,
  c: NativeConv,
  x: QValue,
  shape: number[],
  g: Geometry,
  out: GridOutput | FloatOutput,
): Value {
  const [N, H, W, C] = shape;
  const P = N * g.outH * g.outW;
  const a = new Uint8Array(P * c.kp);
  const dims = Int32Array.from([N, H, W, C, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, g.outH]);
  // Padding reads the level of zero (the offset).
  addon.im2colCodes(x.codes, dims, g.outW, c.lut, c.codeMin, c.offset, c.kp, a);
  const acc = new Int32Array(P * c.cout);
  addon.qgemm(a, c.wp, P, c.kp, c.cout, acc, c.steps, c.corr);
  const outShape = [N, g.outH, g.outW, c.cout];
  if (out.kind === 'grid') {
    const codes = new Int32Array(P * c.cout);
    addon.requantGrid(acc, c.cout, out.M, out.B, out.shift, out.thresholds, out.codeMin, out.minIndex, codes);
    return { kind: 'q', codes, shape: outShape, grid: null as unknown as IntGrid };
  }
  const data = new Float32Array(P * c.cout);
  addon.requantFloat(acc, c.cout, out.a, out.b, out.relu ? 1 : 0, data);
  return { kind: 'f', data, shape: outShape };
}
