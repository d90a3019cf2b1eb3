// The native path of an integer conv/dense layer: input bytes (level + offset), a blocked GEMM and
// the fixed-point epilogue into the next layer's bytes. Two kernels: layers whose windows all lie
// inside the image (valid convs, dense layers) read them in place and may fuse a following 2×2 max
// pool (native/src/directconv.cc); the others gather panels of windows (native/src/intgemm.cc).
// Prepared once per layer at load: the weights are laid out for the kernel the layer's value ranges
// allow and kept at their own width (2 or 4 bits with a table from code to level when the format
// has few enough codes, else s8 levels). Used when the addon is active and every level fits a
// byte; bit-exact with the TypeScript path (ops.ts).
import { addonKernels } from '../../engine/addon-state.js';
import type { IntGrid } from '../../quant/grid.js';
import type { Geometry } from './geometry.js';
import type { FValue, QValue } from './values.js';
import type { FloatOutput, GridOutput } from './requant.js';
import { byteArray, byteOffset } from './values.js';
import { levelTable, offsetCorrection, padIndex, storedBits, type WeightTable } from './byte-weights.js';
/**
 * A native conv kernel call: input bytes, geometry, the kernel's meta and weight layout, the level table,
 * the offset correction, then the epilogue's mode and arguments (native/src/epilogue.h).
 */
type ConvKernel = (
  x: Uint8Array,
  geometry: Int32Array,
  meta: Int32Array,
  wp: Uint8Array,
  lut: Int8Array | null,
  corr: Int32Array | null,
  mode: 0 | 1,
  ...epilogue: (Float64Array | Int32Array | Uint8Array | Float32Array | number)[]
) => void;

/** The native kernels this module calls (native/src), declared here next to their use. */
export interface QconvKernels {
  /** A conv/dense layer on gathered panels of windows (native/src/intgemm.cc). */
  qconv: ConvKernel;
  /** The same with windows read in place, optionally with a fused 2×2 max pool (native/src/directconv.cc). */
  qconvDirect: ConvKernel;
  /** The dot product qconvDirect uses; a name sets a lower one (tests), and fails where the CPU lacks it. */
  intIsa(set?: NativeIsa): NativeIsa;
}
/** The qconv kernels on the active addon, or null when native kernels are off. */
export const qconvKernels = addonKernels<QconvKernels>(['qconv', 'qconvDirect', 'intIsa']);

/** The dot products of the direct kernel: VNNI (exact for any bytes) or AVX2's maddubs (exact while two products fit int16). */
export type NativeIsa = 'avx512vnni' | 'avxvnni' | 'avx2';

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
  /** 2·(largest input byte)·(largest |level|): AVX2's maddubs is exact up to 32767. */
  pairMax: number;
  /** The weight streams of windows read in place, per window row length (null: a padding weight cannot be an exact zero). */
  direct: Map<number, DirectStream | null>;
  wl: Int32Array;
  table: WeightTable | undefined;
}

/** The weights of qconvDirect for window rows of `span` entries padded to `spanp`. */
export interface DirectStream {
  wp: Uint8Array;
  spanp: number;
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
  return { wp, lut, meta: Int32Array.of(kp, cout, steps, offset, amode, bits), k, cout, corr, pairMax, direct: new Map(), wl, table };
}

/** Bytes of the target grid per threshold index (index i is the i-th level). */
export function outputBytes(target: IntGrid): Uint8Array {
  const off = byteOffset(target);
  if (off === null) throw new Error('output grid does not fit bytes');
  return Uint8Array.from(target.levels[0], (v) => v + off);
}

/**
 * The direct kernel's weight stream for window rows of `span` entries (kh of them): per block of 8
 * output channels, per group of 4 entries of the rows padded to spanp, channel j's 4 entries at
 * bytes 4j..4j+3 of 32 (at 4 bits: entry e in the low nibble of byte e for e < 16, then the high
 * nibbles; at 2 bits: byte e % 8, bits 2·(e / 8)). Null when rows need padding entries and the
 * table has no zero level for them (they meet real input bytes).
 */
function directStream(c: NativeConv, kh: number, span: number): DirectStream | null {
  let r = c.direct.get(span);
  if (r !== undefined) return r;
  const bits = storedBits(c.table);
  const spanp = Math.ceil(span / 4) * 4;
  const zero = c.table ? c.table.levels.indexOf(0) : 0;
  if (zero < 0 && spanp !== span) {
    c.direct.set(span, null);
    return null;
  }
  const groups = (kh * spanp) / 4,
    blocks = Math.ceil(c.cout / 8);
  const groupBytes = (32 * bits) / 8;
  const wp = new Uint8Array(blocks * groups * groupBytes);
  for (let b = 0; b < blocks; b++)
    for (let gi = 0; gi < groups; gi++)
      for (let e = 0; e < 32; e++) {
        const kk = gi * 4 + (e & 3),
          ch = b * 8 + (e >> 2);
        const i = Math.floor(kk / spanp),
          t = kk % spanp;
        const real = t < span && ch < c.cout;
        const k = i * span + t;
        const at = (b * groups + gi) * groupBytes;
        if (bits === 8) wp[at + e] = real ? c.wl[k * c.cout + ch] & 0xff : 0;
        else {
          // Channels past cout are never written out: any index does for them.
          const v = real ? c.table!.index[k * c.cout + ch] : Math.max(0, zero);
          if (bits === 4) wp[at + (e & 15)] |= v << ((e >> 4) * 4);
          else wp[at + (e & 7)] |= v << ((e >> 3) * 2);
        }
      }
  r = { wp, spanp };
  c.direct.set(span, r);
  return r;
}

/**
 * The direct kernel's stream for this call, or null where the layer runs on gathered panels: window
 * rows that are not contiguous (horizontal dilation), or, without VNNI, sums AVX2 cannot keep exact.
 */
function directFor(addon: QconvKernels, c: NativeConv, shape: number[], g: Geometry): DirectStream | null {
  if (g.dw !== 1) return null;
  if (c.pairMax > 32767 && addon.intIsa() === 'avx2') return null;
  return directStream(c, g.kh, g.kw * shape[3]);
}

/** Whether nativeConv can fuse a following 2×2 stride-2 max pool into this layer (the direct kernel, a grid output). */
export function nativePoolable(addon: QconvKernels, c: NativeConv, shape: number[], g: Geometry, out: GridOutput | FloatOutput): boolean {
  return out.kind === 'grid' && directFor(addon, c, shape, g) !== null;
}

/** [spanp, cout, bits, pool, pad byte, int16 steps] as qconvDirect reads them. */
const directMeta = (c: NativeConv, d: DirectStream, pool: boolean): Int32Array =>
  Int32Array.of(d.spanp, c.cout, storedBits(c.table), pool ? 1 : 0, c.meta[3], Math.max(1, Math.floor(32767 / c.pairMax)));

export function nativeConv(
  addon: QconvKernels,
  c: NativeConv,
  bytes: Uint8Array,
  shape: number[],
  g: Geometry,
  out: GridOutput | FloatOutput,
  target: { grid: IntGrid; bytes: Uint8Array } | null,
  pool = false,
): QValue | FValue {
  const [N, H, W, C] = shape;
  const geo = Int32Array.from([N, H, W, C, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, g.outH, g.outW]);
  const direct = directFor(addon, c, shape, g);
  if (pool && (!direct || out.kind !== 'grid')) throw new Error('native conv: a fused pool needs windows read in place and a grid output');
  const [oh, ow] = pool ? [Math.floor(g.outH / 2), Math.floor(g.outW / 2)] : [g.outH, g.outW];
  const P = N * oh * ow;
  const outShape = [N, oh, ow, c.cout];
  const run = (mode: 0 | 1, ...epilogue: (Float64Array | Int32Array | Uint8Array | Float32Array | number)[]) =>
    direct
      ? addon.qconvDirect(bytes, geo, directMeta(c, direct, pool), direct.wp, c.lut, c.corr, mode, ...epilogue)
      : addon.qconv(bytes, geo, c.meta, c.wp, c.lut, c.corr, mode, ...epilogue);
  if (out.kind === 'grid') {
    const o = byteArray(P * c.cout);
    run(0, out.M, out.B, out.shift, out.thresholds, out.minIndex, target!.bytes, o);
    return { kind: 'q', codes: null, bytes: o, shape: outShape, grid: target!.grid };
  }
  const data = new Float32Array(P * c.cout);
  run(1, out.a, out.b, out.relu ? 1 : 0, data);
  return { kind: 'f', data, shape: outShape };
}
