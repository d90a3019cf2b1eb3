// The native path of an integer conv/dense layer (native/src/intgemm.cc): input bytes (level +
// offset), one fused pass of window gathering, an AVX2 u8×s8 GEMM and the fixed-point epilogue
// into the next layer's bytes. Prepared once per layer at load; used when the addon is active
// and every level fits a byte; bit-exact with the TypeScript path (ops.ts).
import type { NativeAddon } from '../../engine/native.js';
import type { IntGrid } from './grid.js';
import type { FValue, Geometry, QValue } from './ops.js';
import type { FloatOutput, GridOutput } from './requant.js';
import { byteOffset } from './values.js';

export interface NativeConv {
  wp: Int8Array;
  kp: number;
  k: number;
  cout: number;
  /** Byte of the input's level 0 (what padding reads). */
  pad: number;
  /** Groups of 4 products that may add up in int16 before widening (0: the exact 16-bit path). */
  steps: number;
  corr: Int32Array | null;
}

/**
 * Packs weight levels ([K, cout], K = kh·kw·cin) into blocks of 8 outputs × 4 reduction entries;
 * null if the weights or the input's levels do not fit 8 bits.
 */
export function prepareNativeConv(wl: Int32Array, k: number, cout: number, input: IntGrid): NativeConv | null {
  for (const v of wl) if (v < -128 || v > 127) return null;
  const offset = byteOffset(input);
  if (offset === null) return null;
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
  let amax = 0,
    wmax = 1;
  for (const v of input.levels[0]) amax = Math.max(amax, v + offset);
  for (const v of wl) wmax = Math.max(wmax, Math.abs(v));
  // A maddubs pair sum is at most 2·amax·wmax; `steps` of them must stay inside int16.
  const steps = amax > 127 ? 0 : Math.max(1, Math.min(64, Math.floor(32767 / (2 * Math.max(1, amax) * wmax))));
  return { wp, kp, k, cout, pad: offset, steps, corr };
}

/** Bytes of the target grid per threshold index (index i is the i-th level). */
export function outputBytes(target: IntGrid): Uint8Array {
  const off = byteOffset(target);
  if (off === null) throw new Error('output grid does not fit bytes');
  return Uint8Array.from(target.levels[0], (v) => v + off);
}

export function nativeConv(
  addon: NativeAddon,
  c: NativeConv,
  bytes: Uint8Array,
  shape: number[],
  g: Geometry,
  out: GridOutput | FloatOutput,
  target: { grid: IntGrid; bytes: Uint8Array } | null,
): QValue | FValue {
  const [N, H, W, C] = shape;
  const P = N * g.outH * g.outW;
  const geo = Int32Array.from([N, H, W, C, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, g.outH, g.outW]);
  const outShape = [N, g.outH, g.outW, c.cout];
  if (out.kind === 'grid') {
    const o = new Uint8Array(P * c.cout);
    addon.qconv(
      bytes,
      geo,
      c.wp,
      c.kp,
      c.cout,
      c.steps,
      c.corr,
      c.pad,
      0,
      out.M,
      out.B,
      out.shift,
      out.thresholds,
      out.minIndex,
      target!.bytes,
      o,
    );
    return { kind: 'q', codes: null, bytes: o, shape: outShape, grid: target!.grid };
  }
  const data = new Float32Array(P * c.cout);
  addon.qconv(bytes, geo, c.wp, c.kp, c.cout, c.steps, c.corr, c.pad, 1, out.a, out.b, out.relu ? 1 : 0, data);
  return { kind: 'f', data, shape: outShape };
}
