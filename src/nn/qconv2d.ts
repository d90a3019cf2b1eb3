// QConv2D: a 2-D convolution (NHWC) whose kernel and input are fake-quantized in the forward
// pass (straight-through backward). Accepts the configuration keys of tf.layers.conv2d, so a
// Conv2D in a model's JSON can be swapped for a QConv2D; weights: kernel, [bias], then the
// learned quantizer parameters (LSQ step / PACT clip) if any.
import { tf, type Tensor } from '../engine/tf.js';
import { Quantizer } from './quantizer.js';
import { serialisableState, type QuantLayerArgs } from './qlayer-config.js';

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

export class QConv2D extends tf.layers.Layer {
  static className = 'QConv2D';
  readonly filters: number;
  readonly kernelSize: Pair;
  readonly strides: Pair;
  readonly padding: 'same' | 'valid';
  readonly dilationRate: Pair;
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  readonly weightQ: Quantizer | null;
  readonly inputQ: Quantizer | null;
  readonly refitEvery: number | undefined;
  private kernel!: LayerVariable;
  private bias: LayerVariable | null = null;
  private weightParam: LayerVariable | null = null;
  private inputParam: LayerVariable | null = null;

  constructor(args: QConv2DArgs) {
    super(args.name ? { name: args.name } : {});
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
    this.refitEvery = args.refitEvery ?? undefined;
    this.weightQ = args.weightQuant ? new Quantizer(args.weightQuant, 'weight', this.refitEvery, 0.9, args.weightState) : null;
    this.inputQ = args.inputQuant ? new Quantizer(args.inputQuant, 'activation', 1, 0.9, args.inputState) : null;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = shape[shape.length - 1];
    if (cin == null) throw new Error(`QConv2D ${this.name}: input channels must be known`);
    this.kernel = this.addWeight('kernel', [...this.kernelSize, cin, this.filters], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    const ws = this.weightQ?.learnedShape(this.filters);
    if (ws) this.weightParam = this.addWeight('weight_quant_param', ws, 'float32', tf.initializers.zeros());
    const is = this.inputQ?.learnedShape(1);
    if (is) this.inputParam = this.addWeight('input_quant_param', is, 'float32', tf.initializers.zeros());
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
    const x = this.inputQ ? this.inputQ.apply(x0, training, this.inputParam ?? undefined) : x0;
    const k = this.kernel.read();
    const w = this.weightQ ? this.weightQ.apply(k, training, this.weightParam ?? undefined) : k;
    let y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, this.strides, this.padding, 'NHWC', this.dilationRate);
    if (this.bias) y = tf.add(y, this.bias.read());
    return this.activation === 'relu' ? tf.relu(y) : y;
  }

  /** Fits the input quantizer to the activations seen in calibration mode (PTQ). */
  finishCalibration(): boolean {
    return this.inputQ?.finishCalibration(this.inputParam ?? undefined) ?? false;
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
      refitEvery: (this.refitEvery ?? null) as unknown as tf.serialization.ConfigDictValue,
      weightQuant: (this.weightQ?.spec ?? null) as unknown as tf.serialization.ConfigDictValue,
      inputQuant: (this.inputQ?.spec ?? null) as unknown as tf.serialization.ConfigDictValue,
      weightState: (this.weightQ ? serialisableState(this.weightQ.state) : null) as unknown as tf.serialization.ConfigDictValue,
      inputState: (this.inputQ ? serialisableState(this.inputQ.state) : null) as unknown as tf.serialization.ConfigDictValue,
    };
  }
}

tf.serialization.registerClass(QConv2D);
