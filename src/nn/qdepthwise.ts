// QDepthwiseConv2D: a depthwise convolution (NHWC; each input channel with its own
// depthMultiplier filters, output channel c·m + q) whose kernel and input are fake-quantized.
// Its kernel is stored as [kh, kw, 1, C·m]: the same values in the same order as tfjs's
// [kh, kw, C, m], with the output channels on the last axis, so that per-channel weight
// quantization, packing and the cost model see one channel per output, as for a QConv2D.
import { tf, type Tensor } from '../engine/tf.js';
import { QWindowLayer } from './qwindow-layer.js';
import type { QuantLayerArgs, WindowArgs } from './qlayer-config.js';

export interface QDepthwiseConv2DArgs extends QuantLayerArgs, WindowArgs {
  depthMultiplier?: number;
}

export class QDepthwiseConv2D extends QWindowLayer {
  static className = 'QDepthwiseConv2D';
  readonly depthMultiplier: number;
  private channels = 0;

  constructor(args: QDepthwiseConv2DArgs) {
    super(args, 'QDepthwiseConv2D');
    const m = args.depthMultiplier ?? 1;
    if (!Number.isInteger(m) || m < 1) throw new Error(`QDepthwiseConv2D: depthMultiplier must be a positive integer, got ${m}`);
    this.depthMultiplier = m;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`QDepthwiseConv2D ${this.name}: input channels must be known`);
    this.channels = c;
    const out = c * this.depthMultiplier;
    this.kernel = this.addWeight('depthwise_kernel', [...this.kernelSize, 1, out], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [out], 'float32', tf.initializers.zeros());
    this.addQuantWeights(out);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as number[];
    const info = tf.backend_util.computeConv2DInfo(
      [1, s[1], s[2], s[3]] as [number, number, number, number],
      [...this.kernelSize, s[3], this.depthMultiplier] as [number, number, number, number],
      this.strides,
      this.dilationRate,
      this.padding,
      undefined,
      true,
    );
    return [s[0], info.outHeight, info.outWidth, s[3] * this.depthMultiplier];
  }

  /** The stored [kh, kw, 1, C·m] kernel as tfjs's depthwise filter [kh, kw, C, m]. */
  private asFilter(k: Tensor): Tensor {
    return tf.reshape(k, [...this.kernelSize, this.channels, this.depthMultiplier]);
  }

  protected convolve(x: Tensor, k: Tensor): Tensor {
    return tf.depthwiseConv2d(x as tf.Tensor4D, this.asFilter(k) as tf.Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      depthMultiplier: this.depthMultiplier,
      ...this.windowConfigDict(),
    };
  }
}

tf.serialization.registerClass(QDepthwiseConv2D);
