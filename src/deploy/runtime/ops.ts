// The portable (TypeScript) kernels of the integer runtime. Quantized layers multiply integer
// levels into exact integer accumulators and requantize in fixed point; pooling and flattening
// work on codes (codes sort like values); what has no integer form here (float layers, batch
// norm that cannot be folded, residual adds, global pooling) runs in float.
import { requantize, type FloatOutput, type GridOutput } from './requant.js';
import type { IntGrid } from '../../quant/grid.js';
import { addonKernels } from '../../engine/addon-state.js';
import { byteArray, toCodes, type FValue, type Value } from './values.js';
import { wasmKernels } from './wasm-kernels.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface RuntimeOpKernels {
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, dims: Int32Array, act: number): void;
  maxPoolBytes(x: Uint8Array, dims: Int32Array, outH: number, outW: number, out: Uint8Array): void;
}
const runtimeOpKernels = addonKernels<RuntimeOpKernels>(['conv2dForward', 'maxPoolBytes']);

export type { FValue, QValue, Value } from './values.js';
import type { Geometry } from './geometry.js';
export { geometry, type Geometry } from './geometry.js';

/**
 * Integer convolution (dense layers are 1×1 convolutions on a 1×1 image): accumulators of
 * input levels × weight levels, one epilogue per output. `inLevels` are the input's levels
 * (padding reads level 0, the real zero); `w` is [kh, kw, cin, cout].
 */
export function intConv(
  inLevels: Int32Array,
  shape: number[],
  w: Int32Array,
  cout: number,
  g: Geometry,
  out: GridOutput | FloatOutput,
): Value {
  const [N, H, W, C] = shape;
  const outShape = [N, g.outH, g.outW, cout];
  const size = N * g.outH * g.outW * cout;
  const codes = out.kind === 'grid' ? new Int32Array(size) : null;
  const data = out.kind === 'float' ? new Float32Array(size) : null;
  const epilogue = (o: number, k: number, acc: number) => {
    if (codes) codes[o] = requantize(out as GridOutput, acc, k);
    else {
      const f = out as FloatOutput;
      const y = acc * f.a[k] + f.b[k];
      data![o] = f.relu && y < 0 ? 0 : y;
    }
  };
  const result = (): Value =>
    codes
      ? { kind: 'q', codes, bytes: null, shape: outShape, grid: null as unknown as IntGrid }
      : { kind: 'f', data: data!, shape: outShape };
  const acc = new Float64Array(cout);
  const K = g.kh * g.kw * C;
  const row = new Int32Array(K);
  for (let p = 0, o = 0; p < N * g.outH * g.outW; p++) {
    acc.fill(0);
    row.fill(0);
    gatherWindow(inLevels, g, H, W, C, p, row, 0, 0);
    for (let t = 0; t < K; t++) {
      const a = row[t];
      if (a === 0) continue;
      const wr = t * cout;
      for (let k = 0; k < cout; k++) acc[k] += a * w[wr + k];
    }
    for (let k = 0; k < cout; k++, o++) epilogue(o, k, acc[k]);
  }
  return result();
}

/**
 * A depthwise convolution: output channel c·m + q of each pixel is Σ_ij x[ih, iw, c]·w[i, j, c·m + q]
 * (w flattened from [kh, kw, C, m], the same order as [kh, kw, 1, C·m]); padded taps are skipped
 * (zeros). `epilogue(o, k, acc)` writes output o of channel k from its sum (float64: exact for
 * integer levels, as intConv's).
 */
function depthwiseSums(
  x: ArrayLike<number>,
  shape: number[],
  w: ArrayLike<number>,
  mult: number,
  g: Geometry,
  epilogue: (o: number, k: number, acc: number) => void,
): void {
  const [N, H, W, C] = shape;
  const Co = C * mult;
  const acc = new Float64Array(Co);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++) {
        acc.fill(0);
        for (let i = 0; i < g.kh; i++) {
          const ih = oh * g.sh - g.padTop + i * g.dh;
          if (ih < 0 || ih >= H) continue;
          for (let j = 0; j < g.kw; j++) {
            const iw = ow * g.sw - g.padLeft + j * g.dw;
            if (iw < 0 || iw >= W) continue;
            const xa = ((n * H + ih) * W + iw) * C,
              wa = (i * g.kw + j) * Co;
            for (let c = 0; c < C; c++) {
              const v = x[xa + c];
              if (v !== 0) for (let q = 0; q < mult; q++) acc[c * mult + q] += v * w[wa + c * mult + q];
            }
          }
        }
        for (let k = 0; k < Co; k++, o++) epilogue(o, k, acc[k]);
      }
}

/** Integer depthwise convolution: levels in, the same epilogues as intConv. */
export function intDepthwise(
  inLevels: Int32Array,
  shape: number[],
  w: Int32Array,
  mult: number,
  g: Geometry,
  out: GridOutput | FloatOutput,
): Value {
  const [N, , , C] = shape;
  const cout = C * mult;
  const outShape = [N, g.outH, g.outW, cout];
  const size = N * g.outH * g.outW * cout;
  if (out.kind === 'grid') {
    const codes = new Int32Array(size);
    depthwiseSums(inLevels, shape, w, mult, g, (o, k, acc) => (codes[o] = requantize(out, acc, k)));
    return { kind: 'q', codes, bytes: null, shape: outShape, grid: null as unknown as IntGrid };
  }
  const data = new Float32Array(size);
  depthwiseSums(inLevels, shape, w, mult, g, (o, k, acc) => {
    const y = acc * out.a[k] + out.b[k];
    data[o] = out.relu && y < 0 ? 0 : y;
  });
  return { kind: 'f', data, shape: outShape };
}

/** Float depthwise convolution (bias and ReLU after), as floatConv for convs. */
export function floatDepthwise(x: Float32Array, shape: number[], w: Float32Array, mult: number, g: Geometry): FValue {
  const [N, , , C] = shape;
  const data = new Float32Array(N * g.outH * g.outW * C * mult);
  depthwiseSums(x, shape, w, mult, g, (o, _k, acc) => (data[o] = acc));
  return { kind: 'f', data, shape: [N, g.outH, g.outW, C * mult] };
}

/**
 * The input window of output pixel p (over the batch) into dst at `at`, tap by tap (i·kw + j, then
 * channels), each value minus `shift`. Taps in the padding are left as they are (the caller fills them).
 * Shared by the integer conv and the float conv.
 */
function gatherWindow(
  levels: ArrayLike<number>,
  g: Geometry,
  H: number,
  W: number,
  C: number,
  p: number,
  dst: Int32Array | Int8Array | Float32Array,
  at: number,
  shift: number,
): void {
  const ow = p % g.outW,
    oh = Math.floor(p / g.outW) % g.outH,
    n = Math.floor(p / (g.outW * g.outH));
  for (let i = 0; i < g.kh; i++) {
    const ih = oh * g.sh - g.padTop + i * g.dh;
    if (ih < 0 || ih >= H) continue;
    for (let j = 0; j < g.kw; j++) {
      const iw = ow * g.sw - g.padLeft + j * g.dw;
      if (iw < 0 || iw >= W) continue;
      const ib = ((n * H + ih) * W + iw) * C,
        ab = at + (i * g.kw + j) * C;
      for (let c = 0; c < C; c++) dst[ab + c] = levels[ib + c] - shift;
    }
  }
}

/** Float convolution (layers with float inputs or weights); w is [kh, kw, cin, cout]. */
export function floatConv(
  x: Float32Array,
  shape: number[],
  w: Float32Array,
  bias: Float32Array | null,
  cout: number,
  g: Geometry,
  relu: boolean,
): FValue {
  const [N, H, W, C] = shape;
  const data = new Float32Array(N * g.outH * g.outW * cout);
  const addon = runtimeOpKernels();
  if (addon) {
    // Float layers (product-coded kernels, unquantized layers) on the addon's oneDNN convolution.
    const padBottom = Math.max(0, (g.outH - 1) * g.sh + (g.kh - 1) * g.dh + 1 - H - g.padTop);
    const padRight = Math.max(0, (g.outW - 1) * g.sw + (g.kw - 1) * g.dw + 1 - W - g.padLeft);
    const dims = Int32Array.from([
      N,
      H,
      W,
      C,
      cout,
      g.kh,
      g.kw,
      g.sh,
      g.sw,
      g.dh,
      g.dw,
      g.padTop,
      padBottom,
      g.padLeft,
      padRight,
      g.outH,
      g.outW,
    ]);
    addon.conv2dForward(x, w, bias, data, dims, relu ? 1 : 0);
    return { kind: 'f', data, shape: [N, g.outH, g.outW, cout] };
  }
  const acc = new Float64Array(cout);
  const K = g.kh * g.kw * C;
  const row = new Float32Array(K);
  for (let p = 0, o = 0; p < N * g.outH * g.outW; p++) {
    for (let k = 0; k < cout; k++) acc[k] = bias ? bias[k] : 0;
    // Padded taps stay 0 and add nothing, so the sums are those of skipping them.
    row.fill(0);
    gatherWindow(x, g, H, W, C, p, row, 0, 0);
    for (let t = 0; t < K; t++) {
      const a = row[t],
        wr = t * cout;
      for (let k = 0; k < cout; k++) acc[k] += a * w[wr + k];
    }
    for (let k = 0; k < cout; k++, o++) data[o] = relu && acc[k] < 0 ? 0 : acc[k];
  }
  return { kind: 'f', data, shape: [N, g.outH, g.outW, cout] };
}

/** Max pooling of codes or floats ('same' padding never picks a padded position). */
export function maxPool(v: Value, g: Geometry): Value {
  const [N, H, W, C] = v.shape;
  // Bytes pool on the native kernel or, without the addon, the WebAssembly one.
  const addon = runtimeOpKernels() ?? wasmKernels();
  if (addon && v.kind === 'q' && v.bytes) {
    const bytes = byteArray(N * g.outH * g.outW * C);
    addon.maxPoolBytes(v.bytes, Int32Array.from([N, H, W, C, g.kh, g.kw, g.sh, g.sw, g.padTop, g.padLeft]), g.outH, g.outW, bytes);
    return { kind: 'q', codes: null, bytes, shape: [N, g.outH, g.outW, C], grid: v.grid };
  }
  const src = v.kind === 'q' ? toCodes(v) : v.data;
  const size = N * g.outH * g.outW * C;
  const dst = v.kind === 'q' ? new Int32Array(size) : new Float32Array(size);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++)
        for (let c = 0; c < C; c++, o++) {
          let m = -Infinity;
          for (let i = 0; i < g.kh; i++) {
            const ih = oh * g.sh - g.padTop + i;
            if (ih < 0 || ih >= H) continue;
            for (let j = 0; j < g.kw; j++) {
              const iw = ow * g.sw - g.padLeft + j;
              if (iw >= 0 && iw < W) m = Math.max(m, src[((n * H + ih) * W + iw) * C + c]);
            }
          }
          dst[o] = m;
        }
  const shape = [N, g.outH, g.outW, C];
  return v.kind === 'q'
    ? { kind: 'q', codes: dst as Int32Array, bytes: null, shape, grid: v.grid }
    : { kind: 'f', data: dst as Float32Array, shape };
}

/** Average pooling in float; 'same' padding averages over the window's positions inside the image (tfjs, ONNX count_include_pad=0). */
export function avgPool(v: FValue, g: Geometry): FValue {
  const [N, H, W, C] = v.shape;
  const dst = new Float32Array(N * g.outH * g.outW * C);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++)
        for (let c = 0; c < C; c++, o++) {
          let s = 0,
            count = 0;
          for (let i = 0; i < g.kh; i++) {
            const ih = oh * g.sh - g.padTop + i;
            if (ih < 0 || ih >= H) continue;
            for (let j = 0; j < g.kw; j++) {
              const iw = ow * g.sw - g.padLeft + j;
              if (iw < 0 || iw >= W) continue;
              s += v.data[((n * H + ih) * W + iw) * C + c];
              count++;
            }
          }
          dst[o] = s / count;
        }
  return { kind: 'f', data: dst, shape: [N, g.outH, g.outW, C] };
}
