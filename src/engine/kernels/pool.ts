// MaxPool / AvgPool and their gradients over NHWC.
import { tf } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { bindKernels } from '../addon-state.js';
import { f32, override, sizeOf } from '../override.js';
import { alloc } from '../buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface PoolKernels {
  maxPoolForward(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  maxPoolBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, dims: Int32Array): void;
  avgPoolForward(x: Float32Array, y: Float32Array, dims: Int32Array): void;
  avgPoolBackward(dy: Float32Array, dx: Float32Array, dims: Int32Array): void;
}
const POOL_KERNELS: readonly (keyof PoolKernels)[] = ['maxPoolForward', 'maxPoolBackward', 'avgPoolForward', 'avgPoolBackward'];

function poolDims(xShape: number[], attrs: Record<string, unknown>): { dims: Int32Array; out: number[] } | null {
  if (xShape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const p = info.padInfo;
  const dims = Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    p.top,
    p.left,
    info.outHeight,
    info.outWidth,
  ]);
  return { dims, out: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] };
}

export function registerPoolKernels(addon: NativeAddon): void {
  const n = bindKernels<PoolKernels>(addon, POOL_KERNELS);
  override('MaxPool', ({ inputs, backend, attrs }) => {
    const xv = f32(backend, inputs.x);
    const p = xv && poolDims(inputs.x!.shape, attrs);
    if (!xv || !p) return null;
    const y = alloc(sizeOf(p.out));
    n.maxPoolForward(xv, y, p.dims);
    return backend.makeTensorInfo(p.out, 'float32', y);
  });
  override('MaxPoolGrad', ({ inputs, backend, attrs }) => {
    const dyv = f32(backend, inputs.dy),
      xv = f32(backend, inputs.input);
    const p = dyv && xv && poolDims(inputs.input!.shape, attrs);
    if (!dyv || !xv || !p) return null;
    const dx = alloc(xv.length);
    n.maxPoolBackward(dyv, xv, dx, p.dims);
    return backend.makeTensorInfo(inputs.input!.shape, 'float32', dx);
  });
  override('AvgPool', ({ inputs, backend, attrs }) => {
    const xv = f32(backend, inputs.x);
    const p = xv && poolDims(inputs.x!.shape, attrs);
    if (!xv || !p) return null;
    const y = alloc(sizeOf(p.out));
    n.avgPoolForward(xv, y, p.dims);
    return backend.makeTensorInfo(p.out, 'float32', y);
  });
  override('AvgPoolGrad', ({ inputs, backend, attrs }) => {
    const dyv = f32(backend, inputs.dy);
    const x = inputs.input;
    const p = dyv && x && poolDims(x.shape, attrs);
    if (!dyv || !x || !p) return null;
    const dx = alloc(sizeOf(x.shape));
    n.avgPoolBackward(dyv, dx, p.dims);
    return backend.makeTensorInfo(x.shape, 'float32', dx);
  });
}
