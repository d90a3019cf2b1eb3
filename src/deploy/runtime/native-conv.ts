// The native path of an integer conv/dense layer (native/src/intgemm.cc): input bytes (level +
// offset), a blocked GEMM over panels of gathered windows and the fixed-point epilogue into the
// next layer's bytes. Prepared once per layer at load: the weights are laid out for the inner
// kernel the layer's value ranges allow and kept at their own width (2 or 4 bits with a table
// from code to level when the format has few enough codes, else s8 levels). Used when the addon
// is active and every level fits a byte; bit-exact with the TypeScript path (ops.ts).
import { addonKernels } from '../../engine/addon-state.js';
import type { IntGrid } from '../../quant/grid.js';
import type { Geometry } from './geometry.js';
import type { FValue, QValue } from './values.js';
import type { FloatOutput, GridOutput } from './requant.js';
import { byteOffset } from './values.js';
import { levelTable, offsetCorrection, padIndex, storedBits, type WeightTable } from './byte-weights.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface QconvKernels {
  /** A conv/dense layer of the integer runtime; see native/src/intgemm.cc for the argument lists of the two modes. */
  qconv(
    x: Uint8Array,
    geometry: Int32Array,
    meta: Int32Array,
    wp: Uint8Array,
    lut: Int8Array | null,
    corr: Int32Array | null,
    mode: 0 | 1,
    ...epilogue: (Float64Array | Int32Array | Uint8Array | Float32Array | number)[]
  ): void;
}
/** The qconv kernel on the active addon, or null when native kernels are off. */
export const qconvKernels = addonKernels<QconvKernels>(['qconv']);

/** Output channels per weight block of the native kernel. */
const BLOCK = 16;

export interface NativeConv {
  /** Weight blocks in the kernel's layout, at `bits` per weight. */
  wp: Uint8Array;
  /** Code index → level, for weights stored at 2 or 4 bits. */
  lut: Int8Array | null;
  /** [Kp, cout, steps, pad, amode, bits] as the kernel reads them. */
  meta: Int32Array;
  k: number;
  cout: number;
  corr: Int32Array | null;
}

/**
 * Lays out weight levels ([K, cout], K = kh·kw·cin) for the native kernel; null if the weights
 * or the input's levels do not fit a byte.
 */
export function prepareNativeConv(wl: Int32Array, k: number, cout: number, input: IntGrid, table?: WeightTable): NativeConv | null {
  for (const v of wl) if (v < -128 || v > 127) return null;
  const offset = byteOffset(input);
  if (offset === null) return null;
  let amax = 0,
    wmax = 1;
  for (const v of input.levels[0]) amax = Math.max(amax, v + offset);
  for (const v of wl) wmax = Math.max(wmax, Math.abs(v));
  // maddubs sums two u8·s8 products in int16 (saturating): exact while 2·amax·wmax fits, and
  // `steps` such sums may add up in int16 before widening. Otherwise the exact 16-bit kernel.
  const pairMax = 2 * Math.max(1, amax) * wmax;
  const amode = pairMax <= 32767 ? 0 : 1;
  const kp = Math.ceil(k / 16) * 16,
    nb = Math.ceil(cout / BLOCK);
  const steps = amode === 0 ? Math.max(1, Math.min(kp / 4, Math.floor(32767 / pairMax))) : 0;
  const bits = storedBits(table);
  const per = 8 / bits;
  const blockBytes = (kp * BLOCK * bits) / 8;
  const wp = new Uint8Array(nb * blockBytes);
  // Padding entries meet zero activations; any level does, the zero level where there is one.
  const pad = padIndex(table);
  for (let b = 0; b < nb; b++)
    for (let kk = 0; kk < kp; kk++)
      for (let j = 0; j < BLOCK; j++) {
        const nn = b * BLOCK + j;
        const real = kk < k && nn < cout;
        const u = kk >> 2;
        // Byte of (kk, channel j) inside its 64-byte unit of 4 reduction entries.
        const within = amode === 0 ? (j >> 3) * 32 + (j & 7) * 4 + (kk & 3) : ((kk >> 1) & 1) * 32 + j * 2 + (kk & 1);
        const at = b * blockBytes + Math.floor(u / per) * 64 + within;
        if (bits === 8) wp[at] = real ? wl[kk * cout + nn] & 0xff : 0;
        else wp[at] |= (real ? table!.index[kk * cout + nn] : pad) << ((u % per) * bits);
      }
  const lut = levelTable(table, bits);
  const corr = offsetCorrection(wl, k, cout, offset);
  return { wp, lut, meta: Int32Array.of(kp, cout, steps, offset, amode, bits), k, cout, corr };
}

/** Bytes of the target grid per threshold index (index i is the i-th level). */
export function outputBytes(target: IntGrid): Uint8Array {
  const off = byteOffset(target);
  if (off === null) throw new Error('output grid does not fit bytes');
  return Uint8Array.from(target.levels[0], (v) => v + off);
}

export function nativeConv(
  addon: QconvKernels,
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
    addon.qconv(bytes, geo, c.meta, c.wp, c.lut, c.corr, 0, out.M, out.B, out.shift, out.thresholds, out.minIndex, target!.bytes, o);
    return { kind: 'q', codes: null, bytes: o, shape: outShape, grid: target!.grid };
  }
  const data = new Float32Array(P * c.cout);
  addon.qconv(bytes, geo, c.meta, c.wp, c.lut, c.corr, 1, out.a, out.b, out.relu ? 1 : 0, data);
  return { kind: 'f', data, shape: outShape };
}
