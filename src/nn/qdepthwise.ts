// QDepthwiseConv2D: a depthwise convolution (NHWC; each input channel with its own
// depthMultiplier filters, output channel c·m + q) whose kernel and input are fake-quantized.
// Its kernel is stored as [kh, kw, 1, C·m]: the same values in the same order as tfjs's
// [kh, kw, C, m], with the output channels on the last axis, so that per-channel weight
// quantization, packing and the cost model see one channel per output, as for a QConv2D.
import { tf, type Tensor } from '../engine/tf.js';
import { QuantLayer } from './quant-layer.js';
import type { QuantLayerArgs } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;
type Pair = [number, number];

export interface QDepthwiseConv2DArgs extends QuantLayerArgs {
  name?: string;
  kernelSize: number | Pair;
  depthMultiplier?: number;
  strides?: number | Pair;
  padding?: 'same' | 'valid';
  dilationRate?: number | Pair;
  useBias?: boolean;
  activation?: 'linear' | 'relu' | null;
}

const pair = (v: number | number[] | undefined, d: number): Pair =>
  v === undefined ? [d, d] : Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];

export class QDepthwiseConv2D extends QuantLayer {
  static className = 'QDepthwiseConv2D';
  readonly kernelSize: Pair;
  readonly depthMultiplier: number;
  readonly strides: Pair;
  readonly padding: 'same' | 'valid';
  readonly dilationRate: Pair;
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  private kernel!: LayerVariable;
  private bias: LayerVariable | null = null;
  private channels = 0;

  constructor(args: QDepthwiseConv2DArgs) {
    super(args);
    const m = args.depthMultiplier ?? 1;
    if (!Number.isInteger(m) || m < 1) throw new Error(`QDepthwiseConv2D: depthMultiplier must be a positive integer, got ${m}`);
    this.depthMultiplier = m;
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.padding = args.padding ?? 'valid';
    this.dilationRate = pair(args.dilationRate, 1);
    this.useBias = args.useBias ?? true;
    const act = args.activation ?? 'linear';
    if (act !== 'linear' && act !== 'relu')
      throw new Error(`QDepthwiseConv2D ${args.name}: activation '${act}' not supported (expected linear or relu)`);
    this.activation = act;
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

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const training = Boolean(kwargs.training);
    const x0 = Array.isArray(inputs) ? inputs[0] : inputs;
    const x = this.quantizeInput(x0, training);
    const w = this.asFilter(this.quantizeKernel(this.kernel.read(), training));
    let y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate);
    if (this.bias) y = tf.add(y, this.bias.read());
    return this.activation === 'relu' ? tf.relu(y) : y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      kernelSize: this.kernelSize,
      depthMultiplier: this.depthMultiplier,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      useBias: this.useBias,
      activation: this.activation,
      ...this.quantConfig(),
    };
  }
}

tf.serialization.registerClass(QDepthwiseConv2D);
