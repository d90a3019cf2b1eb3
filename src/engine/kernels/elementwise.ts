// Relu, Add/Sub/Mul (same shape, scalar, or broadcast over the last axis) and Sum over all
// leading axes (bias gradients) in native code; other broadcasts fall back to stock tfjs.
import { tf, type TensorInfo } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { f32, override, sizeOf, type KernelArgs } from '../override.js';

/** True if `small` broadcasts against `big` as a scalar or along the trailing axis only. */
function trailingBroadcast(small: number[], big: number[]): boolean {
  const n = sizeOf(small);
  if (n === 1) return small.length <= big.length;
  if (small.length > big.length || big.length === 0) return false;
  const last = big[big.length - 1];
  return n === last && small[small.length - 1] === last;
}

function binary(n: NativeAddon, { inputs, backend }: KernelArgs, op: number): TensorInfo | null {
  const { a, b } = inputs;
  const av = f32(backend, a), bv = f32(backend, b);
  if (!a || !b || !av || !bv) return null;
  let shape: number[];
  if (a.shape.join() === b.shape.join()) shape = a.shape;
  else if (trailingBroadcast(b.shape, a.shape)) shape = a.shape;
  else if (trailingBroadcast(a.shape, b.shape)) shape = b.shape;
  else return null;
  const out = new Float32Array(sizeOf(shape));
  n.binary(av, bv, out, op);
  return backend.makeTensorInfo(shape, 'float32', out);
}

export function registerElementwiseKernels(n: NativeAddon): void {
  override('Relu', ({ inputs, backend }) => {
    const xv = f32(backend, inputs.x);
    if (!xv) return null;
    const y = new Float32Array(xv.length);
    n.relu(xv, y);
    return backend.makeTensorInfo(inputs.x!.shape, 'float32', y);
  });
  override('Add', (a) => binary(n, a, 0));
  override('Sub', (a) => binary(n, a, 1));
  override('Multiply', (a) => binary(n, a, 2));
  override('Sum', ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!x || !xv || x.shape.length < 2) return null;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
    if (axes.length !== rank - 1 || axes.some((v, i) => v !== i)) return null;
    const c = x.shape[rank - 1];
    const out = new Float32Array(c);
    n.sumRows(xv, out, c);
    const shape = attrs.keepDims ? [...new Array(rank - 1).fill(1), c] : [c];
    return backend.makeTensorInfo(shape, 'float32', out);
  });
}
