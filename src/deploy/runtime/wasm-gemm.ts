// The WebAssembly integer GEMM (native/wasm/qgemm.c, built by scripts/build-wasm.mjs): the
// runtime's integer convolutions where the native addon is absent — browsers, Web Workers, and
// Node without a compiler. The module stays under 4 KB (a test holds it there), so it compiles
// synchronously even on a browser's main thread; where WebAssembly SIMD is missing, the TypeScript loops run instead.
import qgemm from '../../runtime/wasm/qgemm.json' with { type: 'json' };
import type { GridOutput } from './requant.js';

// The little of the WebAssembly API used here (the project compiles without the DOM library).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  qgemm(a: number, b: number, c: number, m: number, n: number, kp: number, corr: number): void;
  requant(
    acc: number,
    m: number,
    n: number,
    M: number,
    B: number,
    shift: number,
    thr: number,
    T: number,
    minIndex: number,
    codeMin: number,
    out: number,
  ): void;
  __heap_base: { value: number };
}

let instance: Exports | null | undefined;
let enabled = true;

/** Turns the WebAssembly kernels on or off (tests compare them with the TypeScript loops). Returns the old value. */
export function setWasmKernels(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

function decode(base64: string): Uint8Array {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function load(): Exports | null {
  if (instance === undefined) {
    try {
      const module = new WebAssembly.Module(decode(qgemm.base64));
      instance = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    } catch {
      instance = null; // no WebAssembly SIMD here
    }
  }
  return instance;
}

export function wasmKernelsEnabled(): boolean {
  return enabled;
}

/** Which kernels the runtime's integer convs use here: the native addon's, WebAssembly's, or the TypeScript loops. */
export function runtimeKernels(addonActive: boolean): 'native' | 'wasm' | 'typescript' {
  return addonActive ? 'native' : enabled && load() ? 'wasm' : 'typescript';
}

/** The GEMM if WebAssembly SIMD runs here and the kernels are on, else null. */
export function wasmGemm(): WasmGemm | null {
  const e = enabled ? load() : null;
  return e ? new WasmGemm(e) : null;
}

/** A grid output's requantization, in the integers the WebAssembly kernel reads. */
export interface WasmRequant {
  M: BigInt64Array;
  B: BigInt64Array;
  shift: Int32Array;
  thresholds: BigInt64Array;
  minIndex: number;
  codeMin: number;
}

/** Padded reduction length: a multiple of the 16 lanes one vector holds. */
export const paddedK = (k: number): number => Math.ceil(k / 16) * 16;

export class WasmGemm {
  constructor(private readonly e: Exports) {}

  /** Room for `bytes` above the heap base; returns the base address (16-byte aligned). */
  private reserve(bytes: number): number {
    const base = (Number(this.e.__heap_base.value) + 15) & ~15;
    const need = base + bytes - this.e.memory.buffer.byteLength;
    if (need > 0) this.e.memory.grow(Math.ceil(need / 65536));
    return base;
  }

  /** A grid output's fixed-point parameters as the WebAssembly requantization reads them (int64), prepared once per layer. */
  static requantOf(o: GridOutput): WasmRequant {
    const int64 = (v: Float64Array) => BigInt64Array.from(v, (x) => BigInt(x));
    return { M: int64(o.M), B: int64(o.B), shift: o.shift, thresholds: int64(o.thresholds), minIndex: o.minIndex, codeMin: o.codeMin };
  }

  /**
   * C = A · Bᵀ + corr over int8 levels, exact in int32: A is m rows of kp bytes, B n rows of kp bytes
   * (kp = paddedK(K), zero padded), corr one value per column (or null). Returns C, m × n, in a new
   * array, or the codes of `rq` when given.
   */
  multiply(a: Int8Array, b: Int8Array, m: number, n: number, kp: number, corr: Int32Array | null, rq?: WasmRequant): Int32Array {
    const aBytes = m * kp,
      bBytes = n * kp;
    const align = (p: number) => (p + 15) & ~15;
    const rqBytes = rq ? 8 * (2 * n + rq.thresholds.length) + 4 * n + 64 : 0;
    const base = this.reserve(aBytes + bBytes + 8 * m * n + 4 * n + rqBytes + 80);
    const pa = base,
      pb = align(pa + aBytes),
      pk = align(pb + bBytes),
      pc = align(pk + 4 * n),
      po = align(pc + 4 * m * n);
    const heap = new Int8Array(this.e.memory.buffer);
    heap.set(a.subarray(0, aBytes), pa);
    heap.set(b.subarray(0, bBytes), pb);
    if (corr) new Int32Array(this.e.memory.buffer, pk, n).set(corr);
    this.e.qgemm(pa, pb, pc, m, n, kp, corr ? pk : 0);
    if (!rq) return new Int32Array(this.e.memory.buffer, pc, m * n).slice();
    // Requantized in place of a copy: the codes come back instead of the accumulators.
    const pM = align(po + 4 * m * n),
      pB = pM + 8 * n,
      pS = pB + 8 * n,
      pT = align(pS + 4 * n);
    const buf = this.e.memory.buffer;
    new BigInt64Array(buf, pM, n).set(rq.M);
    new BigInt64Array(buf, pB, n).set(rq.B);
    new Int32Array(buf, pS, n).set(rq.shift);
    new BigInt64Array(buf, pT, rq.thresholds.length).set(rq.thresholds);
    this.e.requant(pc, m, n, pM, pB, pS, pT, rq.thresholds.length, rq.minIndex, rq.codeMin, po);
    return new Int32Array(buf, po, m * n).slice();
  }
}
