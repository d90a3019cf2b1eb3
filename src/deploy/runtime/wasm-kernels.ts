// The WebAssembly kernels of the integer runtime (native/wasm/qconv.c, built by
// scripts/build-wasm.mjs): whole conv/dense layers, max pooling and input quantization on bytes,
// where the native addon is absent — browsers, Web Workers, and Node without a compiler. Two
// binaries of about 5 KB, plain SIMD and relaxed SIMD, compiled synchronously on first use (a
// browser's main thread allows it below 8 MB); a layer runs on the relaxed one where the engine
// compiles it correctly (a probe checks) and every input byte is at most 127, else on the plain one.
// Where WebAssembly SIMD is missing, the TypeScript loops run.
import plainBinary from '../../runtime/wasm/qconv.json' with { type: 'json' };
import relaxedBinary from '../../runtime/wasm/qconv-relaxed.json' with { type: 'json' };
import type { IntGrid } from '../../quant/grid.js';
import type { FloatOutput, GridOutput } from './requant.js';
import { byteOffset, type FValue, type QValue } from './values.js';
import type { ConvCall, WasmThreads } from './wasm-threads.js';
import { geometry, windowsInPlace, type Geometry } from './geometry.js';
import { levelTable, offsetCorrection, padIndex, storedBits, type WeightTable } from './byte-weights.js';

// The little of the WebAssembly API used here (the project compiles without the DOM library).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  qconv(desc: number, pBegin: number, pEnd: number): void;
  maxpool(x: number, dims: number, out: number): void;
  quantize(x: number, n: number, s: number, zp: number, qmin: number, qmax: number, lut: number, out: number): void;
  __heap_base: { value: number };
}

// The layer descriptor's fields, in the order of the enum in qconv.c.
const D = {
  geometry: 0,
  K: 14,
  Kp: 15,
  cout: 16,
  pad: 17,
  bits: 18,
  emode: 19,
  rows: 20,
  x: 21,
  out: 22,
  wp: 23,
  lut: 24,
  corr: 25,
  scratch: 26,
  M: 27,
  B: 28,
  shift: 29,
  thr: 30,
  T: 31,
  minIndex: 32,
  outBytes: 33,
  uniform: 34,
  fa: 35,
  fb: 36,
  relu: 37,
  fm: 38,
  fb2: 39,
  fs: 40,
  fc: 41,
  implicit: 42,
  spanp: 43,
  pool: 44,
  neg: 45,
  length: 46,
} as const;

/** Output channels per weight block, pixels per register tile (qconv.c's CB and R). */
const CB = 8,
  R = 4;
/** The reduction padded to whole groups of 4 (relaxed SIMD's group; plain SIMD's is 2). */
const paddedK = (K: number) => Math.ceil(K / 4) * 4;
/** Bytes of gathered windows per panel: with the weight block, within a core's L2. */
const PANEL_BYTES = 96 * 1024;

let enabled = true;
let relaxedAllowed = true;
let loaded: { plain: Kernels | null; relaxed: Kernels | null } | undefined;

/** Turns the WebAssembly kernels on or off (tests compare them with the TypeScript loops). Returns the old value. */
export function setWasmKernels(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

/** Allows or forbids the relaxed-SIMD binary (tests and benchmarks compare it with the plain one). Returns the old value. */
export function setRelaxedSimd(on: boolean): boolean {
  const old = relaxedAllowed;
  relaxedAllowed = on;
  return old;
}

function decode(base64: string): Uint8Array {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

let relaxedExports: Exports | null = null;

function instantiate(base64: string, relaxed = false): Kernels | null {
  try {
    const e = new WebAssembly.Instance(new WebAssembly.Module(decode(base64)), {}).exports as unknown as Exports;
    if (relaxed) relaxedExports = e;
    return new Kernels(e);
  } catch {
    return null; // this engine lacks the instructions (no SIMD, or no relaxed SIMD)
  }
}

function load(): { plain: Kernels | null; relaxed: Kernels | null } {
  if (!loaded) {
    const plain = instantiate(plainBinary.base64);
    loaded = { plain, relaxed: null };
    const relaxed = plain ? instantiate(relaxedBinary.base64, true) : null;
    if (relaxed && relaxedConforms(relaxed, plain!)) loaded.relaxed = relaxed;
  }
  return loaded;
}

/** The plain-SIMD kernels if WebAssembly SIMD runs here and the kernels are on, else null. */
export function wasmKernels(): Kernels | null {
  return enabled ? load().plain : null;
}

/** The relaxed-SIMD kernels if this engine compiles them (and they are allowed), else null. */
export function relaxedKernels(): Kernels | null {
  return enabled && relaxedAllowed ? load().relaxed : null;
}

/** Which kernels the runtime's integer layers use here: the native addon's, WebAssembly's (relaxed SIMD or not), or the TypeScript loops. */
export function runtimeKernels(addonActive: boolean): 'native' | 'wasm-relaxed' | 'wasm' | 'typescript' {
  return addonActive ? 'native' : relaxedKernels() ? 'wasm-relaxed' : wasmKernels() ? 'wasm' : 'typescript';
}

/** A conv/dense layer's weights in the WebAssembly kernel's layout, prepared once per layer. */
export interface WasmConv {
  kernels: Kernels;
  /** The packed weight stream of gathered windows: per block of 8 channels, Kp·8 entries at `bits` each. */
  wp: Uint8Array;
  /** The weight stream of windows read in place (kh rows of `span` entries padded to whole groups), by span; packed on first use. */
  inPlace: Map<number, { wp: Uint8Array; Kp: number } | null>;
  /** The weight levels [K, cout] and their table, kept to pack the in-place stream. */
  wl: Int32Array;
  table: WeightTable | undefined;
  lut: Int8Array | null;
  bits: 2 | 4 | 8;
  K: number;
  Kp: number;
  cout: number;
  /** The byte of input level 0 (0 or 128). */
  pad: number;
  /** Σ offset·w per channel, padded to whole blocks; null for unsigned inputs. */
  corr: Int32Array | null;
  /** The largest |acc| (Σ byte·w, before the offset correction) an output can reach: bounds the exact double epilogue. */
  accBound: number;
  /** Epilogue parameters of each grid output, in the kernel's integers. */
  grids: WeakMap<GridOutput, GridParams>;
}

interface GridParams {
  M: BigInt64Array;
  B: BigInt64Array;
  thr: BigInt64Array;
  /** log2 of the threshold spacing when the thresholds are equally spaced by a power of two, else −1. */
  uniform: number;
  /** The vector epilogue's doubles (qconv.c's D_FM .. D_FC) where it is exact, else null. */
  vector: { fm: Float64Array; fb: Float64Array; fs: Float64Array; fc: Float64Array } | null;
}

/**
 * The weight levels [K, cout] (K = kh·kw·cin) in the layout of the kernels that will run them, or
 * null if a level does not fit int8 or the input's levels do not fit bytes. Weights whose levels come
 * from one table of at most 16 entries stay at 2 or 4 bits.
 */
export function prepareWasmConv(wl: Int32Array, K: number, cout: number, input: IntGrid, table?: WeightTable): WasmConv | null {
  const plain = wasmKernels();
  if (!plain) return null;
  for (let i = 0; i < wl.length; i++) if (wl[i] < -128 || wl[i] > 127) return null;
  const offset = byteOffset(input);
  if (offset === null) return null;
  // relaxed_dot_i8x16_i7x16 takes the activations as 7-bit values.
  return prepare(wl, K, cout, input, table, maxByteOf(input, offset) <= 127 ? (relaxedKernels() ?? plain) : plain);
}

const maxByteOf = (input: IntGrid, offset: number) => input.levels[0].reduce((m, v) => Math.max(m, v + offset), offset);

/** The layer on the given kernels (the caller has checked that the levels fit). */
function prepare(wl: Int32Array, K: number, cout: number, input: IntGrid, table: WeightTable | undefined, kernels: Kernels): WasmConv {
  const offset = byteOffset(input)!;
  const maxByte = maxByteOf(input, offset);
  const relaxed = kernels.relaxed;
  const Kp = paddedK(K);
  const bits = storedBits(table);
  const wp = packWeights(wl, K, cout, relaxed ? 4 : 2, bits, table);
  const blocks = Math.ceil(cout / CB);
  const lut = levelTable(table, bits);
  const corr = offsetCorrection(wl, K, cout, offset, blocks * CB);
  let maxW = 0;
  for (let i = 0; i < wl.length; i++) maxW = Math.max(maxW, Math.abs(wl[i]));
  return {
    kernels,
    wp,
    inPlace: new Map(),
    wl,
    table,
    lut,
    bits,
    K,
    Kp,
    cout,
    pad: offset,
    corr,
    accBound: K * maxByte * maxW,
    grids: new WeakMap(),
  };
}

/** Whether the kernel can fuse a 2×2, stride-2 max pool into this conv: windows read in place, a grid output. */
export function wasmPoolable(g: Geometry, H: number, W: number, out: GridOutput | FloatOutput): boolean {
  return windowsInPlace(g, H, W) && out.kind === 'grid';
}

/** The in-place weight stream for window rows of `span` entries, or null when a padding entry cannot be an exact zero. */
function inPlaceStream(c: WasmConv, kh: number, span: number): { wp: Uint8Array; Kp: number } | null {
  let r = c.inPlace.get(span);
  if (r === undefined) {
    const G = c.kernels.relaxed ? 4 : 2;
    const spanp = Math.ceil(span / G) * G;
    // Padding entries meet real input values here, so their weight must be 0.
    r =
      c.table && !c.table.levels.includes(0)
        ? null
        : { wp: packWeights(c.wl, c.K, c.cout, G, c.bits, c.table, { kh, span, spanp }), Kp: paddedK(kh * spanp) };
    c.inPlace.set(span, r);
  }
  return r;
}

function gridParams(c: WasmConv, o: GridOutput, outBytes: Uint8Array): GridParams {
  let p = c.grids.get(o);
  if (!p) {
    const int64 = (v: Float64Array) => {
      const out = new BigInt64Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = BigInt(v[i]);
      return out;
    };
    const t = o.thresholds;
    let uniform = -1;
    if (t.length >= 2) {
      const d = t[1] - t[0];
      const log = Math.log2(d);
      if (Number.isInteger(log) && log >= 0 && log <= 62 && t.every((v, i) => v === t[0] + i * d)) uniform = log;
    }
    p = { M: int64(o.M), B: int64(o.B), thr: int64(t), uniform, vector: vectorEpilogue(c, o, uniform, outBytes) };
    c.grids.set(o, p);
  }
  return p;
}

/**
 * The doubles of the vector epilogue (qconv.c's epilogueVector), when it is exact: thresholds a power
 * of two apart, consecutive output bytes, and every |acc·M + Bc| below 2^53 (Bc computed exactly in BigInt).
 */
function vectorEpilogue(c: WasmConv, o: GridOutput, uniform: number, outBytes: Uint8Array): GridParams['vector'] {
  if (uniform < 0) return null;
  for (let i = 1; i < outBytes.length; i++) if (outBytes[i] !== outBytes[0] + i) return null;
  const n = Math.ceil(c.cout / CB) * CB;
  const fm = new Float64Array(n),
    fb = new Float64Array(n),
    fs = new Float64Array(n);
  const t0 = BigInt(o.thresholds[0]);
  for (let i = 0; i < c.cout; i++) {
    const s = o.shift[i] + uniform;
    const bc = BigInt(o.B[i]) - BigInt(c.corr ? c.corr[i] : 0) * BigInt(o.M[i]) - t0 * 2n ** BigInt(o.shift[i]) + 2n ** BigInt(s);
    const abs = (v: bigint) => (v < 0n ? -v : v);
    if (BigInt(c.accBound) * abs(BigInt(o.M[i])) + abs(bc) >= 2n ** 53n) return null;
    fm[i] = o.M[i];
    fb[i] = Number(bc);
    fs[i] = 2 ** -s;
  }
  return { fm, fb, fs, fc: Float64Array.of(Math.max(0, o.minIndex), o.thresholds.length, outBytes[0]) };
}

/**
 * The kernel's weight stream: per block of 8 output channels and per reduction group of G entries
 * (2 for plain SIMD, 4 for relaxed), 4 channels × G entries, twice (the kernel's two vectors); levels
 * as int8 at 8 bits, else indices into `table` in 16-entry chunks.
 */
function packWeights(
  wl: Int32Array,
  K: number,
  cout: number,
  G: number,
  bits: number,
  table?: WeightTable,
  rows?: { kh: number; span: number; spanp: number },
): Uint8Array {
  const Kp = paddedK(rows ? rows.kh * rows.spanp : K),
    blocks = Math.ceil(cout / CB);
  const wp = new Uint8Array((blocks * Kp * CB * bits) / 8);
  // Padding entries meet zero activations, unwritten channels or (in place) real inputs: level 0's index where there is one.
  const pad = padIndex(table);
  for (let b = 0; b < blocks; b++)
    for (let kk = 0; kk < Kp; kk++) {
      // The weight row of stream entry kk: the same row, or (in place) entry t of window row i.
      const i = rows ? Math.floor(kk / rows.spanp) : 0,
        t = rows ? kk % rows.spanp : kk;
      const k = rows ? (i < rows.kh && t < rows.span ? i * rows.span + t : -1) : kk < K ? kk : -1;
      for (let j = 0; j < CB; j++) {
        const c = b * CB + j;
        const real = k >= 0 && c < cout;
        const s = b * Kp * CB + Math.floor(kk / G) * CB * G + (j >> 2) * 4 * G + (j & 3) * G + (kk % G);
        if (bits === 8) wp[s] = real ? wl[k * cout + c] & 0xff : 0;
        else {
          const v = real ? table!.index[k * cout + c] : pad;
          const q = s >> 4,
            e = s & 15;
          // 16-entry chunks: at 4 bits entry e sits in byte e % 8 (high nibble from 8 on), at 2 bits in byte e % 4 at bit 2·⌊e/4⌋.
          if (bits === 4) wp[q * 8 + (e & 7)] |= v << (4 * (e >> 3));
          else wp[q * 4 + (e & 3)] |= v << (2 * (e >> 2));
        }
      }
    }
  return wp;
}

/**
 * Whether the relaxed binary computes what the plain one does on two small convs (gathered windows
 * with padding, and windows read in place) with extreme int8 weights and 7-bit inputs. Engines that
 * miscompile the instruction fail it and run plain SIMD (Node 20's V8 compiles it behind a flag, and
 * gets some register assignments wrong).
 */
function relaxedConforms(relaxed: Kernels, plain: Kernels): boolean {
  const C = 5,
    k = 3,
    cout = 12,
    K = k * k * C;
  let s = 12345;
  const r = (m: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % m);
  const extremes = [-128, 127, -127, 126, -1, 1, 0];
  const wl = Int32Array.from({ length: K * cout }, () => (r(3) === 0 ? extremes[r(extremes.length)] : r(256) - 128));
  const x = Uint8Array.from({ length: 2 * 5 * 5 * C }, () => (r(3) === 0 ? 127 : r(128)));
  const input: IntGrid = {
    codeMin: 0,
    codeMax: 127,
    levels: [Int32Array.from({ length: 128 }, (_, i) => i)],
    unit: Float64Array.of(1),
    channels: 1,
  };
  const out: FloatOutput = { kind: 'float', a: new Float64Array(cout).fill(1), b: new Float64Array(cout), relu: false };
  try {
    for (const padding of ['same', 'valid']) {
      const g = geometry(5, 5, k, k, 1, 1, padding);
      const run = (kernels: Kernels) => {
        const c = prepare(wl, K, cout, input, undefined, kernels);
        return (c.kernels.conv(c, x, [2, 5, 5, C], g, out, null) as FValue).data;
      };
      const want = run(plain),
        got = run(relaxed);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Where a conv's grid output goes: the target grid and its byte per threshold index (null for float outputs). */
export type ConvTarget = { grid: IntGrid; bytes: Uint8Array } | null;

function valueOf(call: ConvCall, bytes: Uint8Array): QValue | FValue {
  if (call.grid) return { kind: 'q', codes: null, bytes, shape: call.outShape, grid: call.grid };
  return { kind: 'f', data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), shape: call.outShape };
}

/** A bump layout of one call's arrays in the module's memory (16-byte aligned), growing it as needed. */
class Layout {
  private top: number;
  constructor(private readonly e: Exports) {
    this.top = (Number(e.__heap_base.value) + 15) & ~15;
  }
  /** Room for `bytes`; its address. */
  take(bytes: number): number {
    const at = this.top;
    this.top = (at + bytes + 15) & ~15;
    const need = this.top - this.e.memory.buffer.byteLength;
    if (need > 0) this.e.memory.grow(Math.ceil(need / 65536));
    return at;
  }
  /** A copy of `a` (and `slack` bytes after it); its address. */
  put(a: ArrayBufferView, slack = 0): number {
    const at = this.take(a.byteLength + slack);
    new Uint8Array(this.e.memory.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return at;
  }
}

export class Kernels {
  constructor(private readonly e: Exports) {}

  /** Whether this is the relaxed-SIMD binary. */
  get relaxed(): boolean {
    return this.e === relaxedExports;
  }

  /** A conv/dense layer on input bytes: bytes of the target grid for a grid output, else floats. */
  conv(
    c: WasmConv,
    x: Uint8Array,
    shape: number[],
    g: Geometry,
    out: GridOutput | FloatOutput,
    target: ConvTarget,
    pool = false,
  ): QValue | FValue {
    const call = this.layoutConv(c, x, shape, g, out, target, pool);
    this.e.qconv(call.desc, 0, call.P);
    return valueOf(call, new Uint8Array(this.e.memory.buffer, call.outAt, call.P * call.bpp).slice());
  }

  /**
   * The same layer with its output pixels split between this thread and the pool's workers (each
   * runs this binary on a copy of the call's inputs in its own memory); equal to conv() bit for bit.
   */
  async convParallel(
    threads: WasmThreads,
    c: WasmConv,
    x: Uint8Array,
    shape: number[],
    g: Geometry,
    out: GridOutput | FloatOutput,
    target: ConvTarget,
    pool = false,
  ): Promise<QValue | FValue> {
    const call = this.layoutConv(c, x, shape, g, out, target, pool);
    const inputs = new Uint8Array(this.e.memory.buffer, call.base, call.outAt - call.base);
    const bytes = await threads.run(this.relaxed ? 'relaxed' : 'plain', call, inputs, (p0, p1) => {
      this.e.qconv(call.desc, p0, p1);
      return new Uint8Array(this.e.memory.buffer, call.outAt + p0 * call.bpp, (p1 - p0) * call.bpp);
    });
    return valueOf(call, bytes);
  }

  /** Lays out one conv call in this module's memory: its inputs, descriptor, then its output and scratch. */
  private layoutConv(
    c: WasmConv,
    x: Uint8Array,
    shape: number[],
    g: Geometry,
    out: GridOutput | FloatOutput,
    target: ConvTarget,
    pool: boolean,
  ): ConvCall {
    const [N, H, W, C] = shape;
    if (g.kh * g.kw * C !== c.K) throw new Error(`wasm conv: the window holds ${g.kh * g.kw * C} entries, the weights ${c.K}`);
    if (pool && !wasmPoolable(g, H, W, out)) throw new Error('wasm conv: a fused pool needs windows read in place and a grid output');
    // With a fused 2×2 pool the pixels are the pooled ones.
    const [oh, ow] = pool ? [Math.floor(g.outH / 2), Math.floor(g.outW / 2)] : [g.outH, g.outW];
    const P = N * oh * ow;
    const esize = c.kernels.relaxed ? 1 : 2;
    // Windows read in place where they all lie inside the image, else gathered into panels.
    const direct = windowsInPlace(g, H, W) ? inPlaceStream(c, g.kh, g.kw * C) : null;
    const Kp = direct ? direct.Kp : c.Kp;
    // Pixels per panel (per expansion of a weight block): a multiple of the tile height, at most what the batch has.
    const rowsMax = Math.min(1024, Math.max(R, Math.floor(PANEL_BYTES / (Kp * esize) / R) * R), Math.ceil(P / R) * R);
    const L = new Layout(this.e);
    const base = L.take(0);
    const d = new Int32Array(D.length);
    d.set([N, H, W, C, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, g.outH, g.outW], D.geometry);
    d[D.K] = c.K;
    d[D.Kp] = Kp;
    d[D.cout] = c.cout;
    d[D.pad] = c.pad;
    d[D.bits] = c.bits;
    d[D.rows] = rowsMax;
    // Slack after the input and the panel: the gather moves whole vectors.
    d[D.x] = L.put(x, 16);
    d[D.wp] = L.put(direct ? direct.wp : c.wp);
    d[D.implicit] = direct ? 1 : 0;
    d[D.pool] = pool ? 1 : 0;
    const G = esize === 1 ? 4 : 2;
    d[D.spanp] = direct ? Math.ceil((g.kw * C) / G) * G : 0;
    d[D.lut] = c.lut ? L.put(c.lut) : 0;
    d[D.corr] = c.corr ? L.put(c.corr) : 0;
    const grid = out.kind === 'grid';
    d[D.emode] = grid ? 0 : 1;
    if (out.kind === 'grid') {
      const p = gridParams(c, out, target!.bytes);
      d[D.M] = L.put(p.M);
      d[D.B] = L.put(p.B);
      d[D.shift] = L.put(out.shift);
      d[D.thr] = L.put(p.thr);
      d[D.T] = p.thr.length;
      d[D.minIndex] = out.minIndex;
      d[D.outBytes] = L.put(target!.bytes);
      d[D.uniform] = p.uniform;
      if (pool) {
        // Channels whose epilogue falls as the accumulator rises pool by their minimum.
        const neg = new Int32Array(Math.ceil(c.cout / CB) * CB);
        for (let i = 0; i < c.cout; i++) neg[i] = out.M[i] < 0 ? -1 : 0;
        d[D.neg] = L.put(neg);
      }
      if (p.vector) {
        d[D.fm] = L.put(p.vector.fm);
        d[D.fb2] = L.put(p.vector.fb);
        d[D.fs] = L.put(p.vector.fs);
        d[D.fc] = L.put(p.vector.fc);
      }
    } else {
      d[D.fa] = L.put(out.a);
      d[D.fb] = L.put(out.b);
      d[D.relu] = out.relu ? 1 : 0;
    }
    const desc = L.take(4 * D.length);
    // The output (slack: the vector epilogue stores 8 bytes per row of a single-block layer), then the
    // panel (or, in place on plain SIMD, the input widened to int16), its slack, and the expanded weight block.
    const bpp = c.cout * (grid ? 1 : 4);
    d[D.out] = L.take(P * bpp + 16);
    const panelPels = direct ? (esize === 2 ? N * H * W * C : 0) : rowsMax * Kp;
    d[D.scratch] = L.take((panelPels + 16) * esize + Kp * CB * 2 + 16);
    new Int32Array(this.e.memory.buffer, desc, D.length).set(d);
    return { base, desc, P, outAt: d[D.out], bpp, top: L.take(0), outShape: [N, oh, ow, c.cout], grid: grid ? target!.grid : null };
  }

  /** Max pooling of bytes; the native kernel's argument list (dims = N,H,W,C, kh,kw, sh,sw, padT,padL). */
  maxPoolBytes(x: Uint8Array, dims: Int32Array, outH: number, outW: number, out: Uint8Array): void {
    const L = new Layout(this.e);
    // Slack after the input and the output: the kernel moves 16 channels at a time.
    const px = L.put(x, 16),
      pd = L.put(Int32Array.from([...dims, outH, outW])),
      po = L.take(out.length + 16);
    this.e.maxpool(px, pd, po);
    out.set(new Uint8Array(this.e.memory.buffer, po, out.length));
  }

  /** Float input to the bytes of a per-tensor uniform grid; the native kernel's argument list. */
  quantizeBytes(x: Float32Array, scale: number, zp: number, qmin: number, qmax: number, lut: Uint8Array, out: Uint8Array): void {
    const L = new Layout(this.e);
    const px = L.put(x),
      pl = L.put(lut),
      po = L.take(out.length);
    this.e.quantize(px, x.length, scale, zp, qmin, qmax, pl, po);
    out.set(new Uint8Array(this.e.memory.buffer, po, out.length));
  }
}
