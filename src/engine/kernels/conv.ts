// Conv2D, FusedConv2D (bias + ReLU), Conv2DBackpropInput and Conv2DBackpropFilter on oneDNN, and
// the depthwise ones (DepthwiseConv2dNative and its two gradients) as grouped convolutions.
import { tf, type TensorInfo } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { bindKernels } from '../addon-state.js';
import { f32, override, sizeOf, type KernelArgs } from '../override.js';
import { alloc } from '../buffer-pool.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface ConvKernels {
  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, dims: Int32Array, act: number): void;
  conv2dBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: Int32Array): void;
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: Int32Array): void;
}
const CONV_KERNELS: readonly (keyof ConvKernels)[] = ['conv2dForward', 'conv2dBackwardData', 'conv2dBackwardFilter'];

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** The 17 integers the native conv kernels take (18 with groups: a depthwise conv has one per input channel), or null for cases they do not cover. */
function convDims(info: Conv2DInfo, depthwise = false): Int32Array | null {
  if (info.dataFormat !== 'channelsLast' || info.inChannels !== info.filterShape[2]) return null;
  // Degenerate outputs (kernel larger than the padded input) are left to stock tfjs to report.
  if (info.outHeight <= 0 || info.outWidth <= 0 || info.batchSize <= 0) return null;
  const p = info.padInfo;
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    p.top,
    p.bottom,
    p.left,
    p.right,
    info.outHeight,
    info.outWidth,
    ...(depthwise ? [info.inChannels] : []),
  ]);
}

function infoFor(xShape: number[], filterShape: number[], attrs: Record<string, unknown>, depthwise = false): Conv2DInfo | null {
  const fmt = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (fmt !== 'NHWC') return null;
  const dil = (attrs.dilations as number | [number, number] | undefined) ?? 1;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    dil,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    depthwise,
    'channelsLast',
  );
}

export function registerConvKernels(addon: NativeAddon): void {
  const n = bindKernels<ConvKernels>(addon, CONV_KERNELS);
  const forward = (args: KernelArgs, fused: boolean, depthwise = false): TensorInfo | null => {
    const { backend, attrs } = args;
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const xv = f32(backend, x),
      wv = f32(backend, filter);
    if (!x || !filter || !xv || !wv || x.shape.length !== 4 || preluActivationWeights) return null;
    const act = fused ? ((attrs.activation as string | undefined) ?? 'linear') : 'linear';
    if (act !== 'linear' && act !== 'relu') return null;
    const info = infoFor(x.shape, filter.shape, attrs, depthwise);
    const dims = info && convDims(info, depthwise);
    if (!info || !dims) return null;
    let bv: Float32Array | null = null;
    if (fused && bias) {
      bv = f32(backend, bias);
      if (!bv || bv.length !== info.outChannels || bias.shape.length !== 1) return null;
    }
    const shape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    const y = alloc(sizeOf(shape));
    n.conv2dForward(xv, wv, bv, y, dims, act === 'relu' ? 1 : 0);
    return backend.makeTensorInfo(shape, 'float32', y);
  };
  override('Conv2D', (a) => forward(a, false));
  override('FusedConv2D', (a) => forward(a, true));

  // Depthwise: the filter [KH, KW, C, M] is oneDNN's grouped layout already (C groups, M outputs each).
  override('DepthwiseConv2dNative', (a) => forward(a, false, true));

  // The gradients run undilated (tfjs has none for dilated convolutions).
  const backpropInput =
    (depthwise: boolean) =>
    ({ inputs, backend, attrs }: KernelArgs): TensorInfo | null => {
      const { dy, filter } = inputs;
      const dyv = f32(backend, dy),
        wv = f32(backend, filter);
      if (!dy || !filter || !dyv || !wv) return null;
      const inShape = attrs.inputShape as number[];
      const info = infoFor(inShape, filter.shape, { ...attrs, dilations: 1 }, depthwise);
      const dims = info && convDims(info, depthwise);
      if (!info || !dims) return null;
      const dx = alloc(sizeOf(inShape));
      n.conv2dBackwardData(dyv, wv, dx, dims);
      return backend.makeTensorInfo(inShape, 'float32', dx);
    };
  const backpropFilter =
    (depthwise: boolean) =>
    ({ inputs, backend, attrs }: KernelArgs): TensorInfo | null => {
      const { x, dy } = inputs;
      const xv = f32(backend, x),
        dyv = f32(backend, dy);
      if (!x || !dy || !xv || !dyv) return null;
      const filterShape = attrs.filterShape as number[];
      const info = infoFor(x.shape, filterShape, { ...attrs, dilations: 1 }, depthwise);
      const dims = info && convDims(info, depthwise);
      if (!info || !dims) return null;
      const dw = alloc(sizeOf(filterShape));
      n.conv2dBackwardFilter(xv, dyv, dw, dims);
      return backend.makeTensorInfo(filterShape, 'float32', dw);
    };
  override('Conv2DBackpropInput', backpropInput(false));
  override('Conv2DBackpropFilter', backpropFilter(false));
  override('DepthwiseConv2dNativeBackpropInput', backpropInput(true));
  override('DepthwiseConv2dNativeBackpropFilter', backpropFilter(true));
}
