// QConv2D: a 2-D convolution (NHWC) whose kernel and input are fake-quantized in the forward
// pass (straight-through backward). Accepts the configuration keys of tf.layers.conv2d, so a
// Conv2D in a model's JSON can be swapped for a QConv2D; weights: kernel, [bias], then the
// learned quantizer parameters (LSQ step / PACT clip) if any.
import { tf, type Tensor } from '../engine/tf.js';
import { QWindowLayer } from './qwindow-layer.js';
import type { QuantLayerArgs, WindowArgs } from './qlayer-config.js';

export interface QConv2DArgs extends QuantLayerArgs, WindowArgs {
  filters: number;
}

export class QConv2D extends QWindowLayer {
  static className = 'QConv2D';
  readonly filters: number;

  constructor(args: QConv2DArgs) {
    super(args, 'QConv2D');
    if (!Number.isInteger(args.filters) || args.filters < 1)
      throw new Error(`QConv2D: filters must be a positive integer, got ${args.filters}`);
    this.filters = args.filters;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = shape[shape.length - 1];
    if (cin == null) throw new Error(`QConv2D ${this.name}: input channels must be known`);
    this.kernel = this.addWeight('kernel', [...this.kernelSize, cin, this.filters], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.addQuantWeights(this.filters);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as number[];
    const info = tf.backend_util.computeConv2DInfo(
      [1, s[1], s[2], s[3]] as [number, number, number, number],
      [...this.kernelSize, s[3], this.filters] as [number, number, number, number],
      this.strides,
      this.dilationRate,
      this.padding,
    );
    return [s[0], info.outHeight, info.outWidth, this.filters];
  }

  protected convolve(x: Tensor, w: Tensor): Tensor {
    return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      ...this.windowConfigDict(),
    };
  }
}

tf.serialization.registerClass(QConv2D);
