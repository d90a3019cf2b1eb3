// QDense: a dense layer whose kernel and input are fake-quantized in the forward pass.
// Accepts the configuration keys of tf.layers.dense; weights: kernel, [bias], learned
// quantizer parameters.
import { tf, type Tensor } from '../engine/tf.js';
import { Quantizer } from './quantizer.js';
import { serialisableState, type QuantLayerArgs } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export interface QDenseArgs extends QuantLayerArgs {
  name?: string;
  units: number;
  useBias?: boolean;
  activation?: 'linear' | 'relu' | null;
}

export class QDense extends tf.layers.Layer {
  static className = 'QDense';
  readonly units: number;
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  readonly weightQ: Quantizer | null;
  readonly inputQ: Quantizer | null;
  readonly refitEvery: number | undefined;
  private kernel!: LayerVariable;
  private bias: LayerVariable | null = null;
  private weightParam: LayerVariable | null = null;
  private inputParam: LayerVariable | null = null;

  constructor(args: QDenseArgs) {
    super(args.name ? { name: args.name } : {});
    if (!Number.isInteger(args.units) || args.units < 1) throw new Error(`QDense: units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    const act = args.activation ?? 'linear';
    if (act !== 'linear' && act !== 'relu')
      throw new Error(`QDense ${args.name}: activation '${act}' not supported (expected linear or relu)`);
    this.activation = act;
    this.refitEvery = args.refitEvery ?? undefined;
    this.weightQ = args.weightQuant ? new Quantizer(args.weightQuant, 'weight', this.refitEvery, 0.9, args.weightState) : null;
    this.inputQ = args.inputQuant ? new Quantizer(args.inputQuant, 'activation', 1, 0.9, args.inputState) : null;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inF = shape[shape.length - 1];
    if (inF == null) throw new Error(`QDense ${this.name}: input size must be known`);
    this.kernel = this.addWeight('kernel', [inF, this.units], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    const ws = this.weightQ?.learnedShape(this.units);
    if (ws) this.weightParam = this.addWeight('weight_quant_param', ws, 'float32', tf.initializers.zeros());
    const is = this.inputQ?.learnedShape(1);
    if (is) this.inputParam = this.addWeight('input_quant_param', is, 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...s.slice(0, -1), this.units];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const training = Boolean(kwargs.training);
    const x0 = Array.isArray(inputs) ? inputs[0] : inputs;
    const x = this.inputQ ? this.inputQ.apply(x0, training, this.inputParam ?? undefined) : x0;
    const k = this.kernel.read();
    const w = this.weightQ ? this.weightQ.apply(k, training, this.weightParam ?? undefined) : k;
    let y = tf.matMul(x, w);
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
      units: this.units,
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

tf.serialization.registerClass(QDense);
