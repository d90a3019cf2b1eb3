// QDense: a dense layer whose kernel and input are fake-quantized in the forward pass.
// Accepts the configuration keys of tf.layers.dense; weights: kernel, [bias], learned
// quantizer parameters.
import { tf, type Tensor } from '../engine/tf.js';
import { QuantLayer } from './quant-layer.js';
import type { QuantLayerArgs } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export interface QDenseArgs extends QuantLayerArgs {
  name?: string;
  units: number;
  useBias?: boolean;
  activation?: 'linear' | 'relu' | null;
}

export class QDense extends QuantLayer {
  static className = 'QDense';
  readonly units: number;
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  private kernel!: LayerVariable;
  private bias: LayerVariable | null = null;

  constructor(args: QDenseArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1) throw new Error(`QDense: units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    const act = args.activation ?? 'linear';
    if (act !== 'linear' && act !== 'relu')
      throw new Error(`QDense ${args.name}: activation '${act}' not supported (expected linear or relu)`);
    this.activation = act;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inF = shape[shape.length - 1];
    if (inF == null) throw new Error(`QDense ${this.name}: input size must be known`);
    this.kernel = this.addWeight('kernel', [inF, this.units], 'float32', tf.initializers.glorotUniform({}));
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.addQuantWeights(this.units);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    return [...s.slice(0, -1), this.units];
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const training = Boolean(kwargs.training);
    const x0 = Array.isArray(inputs) ? inputs[0] : inputs;
    const x = this.quantizeInput(x0, training);
    const w = this.quantizeKernel(this.kernel.read(), training);
    let y = tf.matMul(x, w);
    if (this.bias) y = tf.add(y, this.bias.read());
    return this.activation === 'relu' ? tf.relu(y) : y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      useBias: this.useBias,
      activation: this.activation,
      ...this.quantConfig(),
    };
  }
}

tf.serialization.registerClass(QDense);
