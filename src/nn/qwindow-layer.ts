// What QConv2D and QDepthwiseConv2D share: the window settings (kernel size, strides, padding,
// dilation), the bias and ReLU after the convolution, the forward pass around it (fake-quantized
// input and kernel in, bias, activation out) and the configuration they serialise.
import { tf, type Tensor } from '../engine/tf.js';
import { QuantLayer } from './quant-layer.js';
import { windowConfig, type Pair, type QuantLayerArgs, type WindowArgs } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export abstract class QWindowLayer extends QuantLayer {
  readonly kernelSize: Pair;
  readonly strides: Pair;
  readonly padding: 'same' | 'valid';
  readonly dilationRate: Pair;
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  protected kernel!: LayerVariable;
  protected bias: LayerVariable | null = null;

  constructor(args: QuantLayerArgs & WindowArgs, cls: string) {
    super(args);
    ({
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      useBias: this.useBias,
      activation: this.activation,
    } = windowConfig(args, cls));
  }

  /** The convolution itself, on the fake-quantized input and the fake-quantized stored kernel. */
  protected abstract convolve(x: Tensor, kernel: Tensor): Tensor;

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const training = Boolean(kwargs.training);
    const x = this.quantizeInput(Array.isArray(inputs) ? inputs[0] : inputs, training);
    let y = this.convolve(x, this.quantizeKernel(this.kernel.read(), training));
    if (this.bias) y = tf.add(y, this.bias.read());
    return this.activation === 'relu' ? tf.relu(y) : y;
  }

  /** The window settings and quantizers as the layer's configuration. */
  protected windowConfigDict(): tf.serialization.ConfigDict {
    return {
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      useBias: this.useBias,
      activation: this.activation,
      ...this.quantConfig(),
    };
  }
}
