// QConv2D: a 2-D convolution (NHWC) whose kernel and input are fake-quantized in the forward
// pass (straight-through backward). Accepts the configuration keys of tf.layers.conv2d, so a
// Conv2D in a model's JSON can be swapped for a QConv2D; weights: kernel, [bias], then the
// learned quantizer parameters (LSQ step / PACT clip) if any.
import { tf, type Tensor } from '../engine/tf.js';
import { QuantLayer } from './quant-layer.js';
import type { QuantLayerArgs } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;
type Pair = [number, number];

export interface QConv2DArgs extends QuantLayerArgs {
  name?: string;
  filters: number;
  kernelSize: number | Pair;
  strides?: number | Pair;
  padding?: 'same' | 'valid';
  dilationRate?: number | Pair;
  useBias?: boolean;
  activation?: 'linear' | 'relu' | null;
}

const pair = (v: number | number[] | undefined, d: number): Pair =>
  v === undefined ? [d, d] : Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];

export class QConv2D extends QuantLayer {
  static className = 'QConv2D';
  readonly filters: number;
  readonly kernelSize: Pair;
  readonly strides: Pair;
  readonly padding: 'same' | 'valid';
  readonly dilationRate: Pair;
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  private kernel!: LayerVariable;
  private bias: LayerVariable | null = null;

  constructor(args: QConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters < 1)
      throw new Error(`QConv2D: filters must be a positive integer, got ${args.filters}`);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.padding = args.padding ?? 'valid';
    this.dilationRate = pair(args.dilationRate, 1);
    this.useBias = args.useBias ?? true;
    const act = args.activation ?? 'linear';
    if (act !== 'linear' && act !== 'relu')
      throw new Error(`QConv2D ${args.name}: activation '${act}' not supported (expected linear or relu)`);
    this.activation = act;
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

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const training = Boolean(kwargs.training);
    const x0 = Array.isArray(inputs) ? inputs[0] : inputs;
    const x = this.quantizeInput(x0, training);
    const w = this.quantizeKernel(this.kernel.read(), training);
    let y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate);
    if (this.bias) y = tf.add(y, this.bias.read());
    return this.activation === 'relu' ? tf.relu(y) : y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
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

tf.serialization.registerClass(QConv2D);
