// Relu, Add/Sub/Mul/RealDiv with any broadcast, Sum over all leading axes (bias gradients)
// and Mean over leading or spatial axes, in native code; other dtypes fall back to stock tfjs.
import { tf, type TensorInfo } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { bindKernels } from '../addon-state.js';
import { f32, override, sizeOf, type KernelArgs } from '../override.js';
import { alloc } from '../buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface ElementwiseKernels {
  relu(x: Float32Array, y: Float32Array): void;
  binary(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    op: number,
    shape?: Int32Array,
    stridesA?: Int32Array,
    stridesB?: Int32Array,
  ): void;
  meanMiddle(x: Float32Array, out: Float32Array, n: number, k: number, c: number): void;
  sumRows(x: Float32Array, out: Float32Array, c: number): void;
}
const ELEMENTWISE_KERNELS: readonly (keyof ElementwiseKernels)[] = ['relu', 'binary', 'meanMiddle', 'sumRows'];

/** Broadcast output shape of a and b (numpy rules), or null if they do not broadcast. */
function broadcastShape(a: number[], b: number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1,
      db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(Math.max(da, db));
  }
  return out;
}

/** Element strides of `shape` read as `out` (0 along broadcast axes). */
function broadcastStrides(shape: number[], out: number[]): Int32Array {
  const r = out.length;
  const strides = new Int32Array(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    const d = shape[shape.length - r + i] ?? 1;
    strides[i] = d === 1 ? 0 : s;
    s *= d;
  }
  return strides;
}

function binary(n: ElementwiseKernels, { inputs, backend }: KernelArgs, op: number): TensorInfo | null {
  const { a, b } = inputs;
  const av = f32(backend, a),
    bv = f32(backend, b);
  if (!a || !b || !av || !bv) return null;
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) return null;
  const out = alloc(sizeOf(shape));
  const la = av.length,
    lb = bv.length,
    last = shape[shape.length - 1] ?? 1;
  const simple = (l: number, s: number[]) => l === out.length || l === 1 || (l === last && s[s.length - 1] === last);
  if (shape.length === 0 || (simple(la, a.shape) && simple(lb, b.shape))) n.binary(av, bv, out, op);
  else n.binary(av, bv, out, op, Int32Array.from(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
  return backend.makeTensorInfo(shape, 'float32', out);
}

function reductionAxes(x: TensorInfo, axis: unknown): number[] {
  return tf.util.parseAxisParam(axis as number | number[], x.shape).sort((p, q) => p - q);
}

export function registerElementwiseKernels(addon: NativeAddon): void {
  const n = bindKernels<ElementwiseKernels>(addon, ELEMENTWISE_KERNELS);
  override('Relu', ({ inputs, backend }) => {
    const xv = f32(backend, inputs.x);
    if (!xv) return null;
    const y = alloc(xv.length);
    n.relu(xv, y);
    return backend.makeTensorInfo(inputs.x!.shape, 'float32', y);
  });
  override('Add', (a) => binary(n, a, 0));
  override('Sub', (a) => binary(n, a, 1));
  override('Multiply', (a) => binary(n, a, 2));
  override('RealDiv', (a) => binary(n, a, 3));
  const reduce =
    (mean: boolean) =>
    ({ inputs, backend, attrs }: KernelArgs): TensorInfo | null => {
      const x = inputs.x;
      const xv = f32(backend, x);
      if (!x || !xv || x.shape.length < 2) return null;
      const rank = x.shape.length;
      const axes = reductionAxes(x, attrs.axis);
      const c = x.shape[rank - 1];
      const keep = Boolean(attrs.keepDims);
      if (axes.length === rank - 1 && axes.every((v, i) => v === i)) {
        // All leading axes: per-channel totals.
        const out = alloc(c);
        n.sumRows(xv, out, c);
        if (mean) {
          const k = xv.length / c;
          for (let i = 0; i < c; i++) out[i] /= k;
        }
        return backend.makeTensorInfo(keep ? [...new Array(rank - 1).fill(1), c] : [c], 'float32', out);
      }
      if (mean && rank >= 3 && axes.length === rank - 2 && axes.every((v, i) => v === i + 1)) {
        // Spatial axes of NHWC (global average pooling).
        const nb = x.shape[0];
        const out = alloc(nb * c);
        n.meanMiddle(xv, out, nb, xv.length / (nb * c), c);
        return backend.makeTensorInfo(keep ? [nb, ...new Array(rank - 2).fill(1), c] : [nb, c], 'float32', out);
      }
      return null;
    };
  override('Sum', reduce(false));
  override('Mean', reduce(true));
}
