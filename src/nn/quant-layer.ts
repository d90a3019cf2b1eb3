// What QConv2D and QDense share: a weight quantizer on the kernel and an input quantizer on the
// activations, their learned parameters (LSQ step / PACT clip) as layer weights after the
// layer's own, PTQ calibration, and the serialised quantizer specs and states.
import { tf, type Tensor } from '../engine/tf.js';
import { isLearned, Quantizer } from './quantizer.js';
import { serialisableState, type QuantLayerArgs } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export abstract class QuantLayer extends tf.layers.Layer {
  private wq: Quantizer | null;
  readonly inputQ: Quantizer | null;
  readonly refitEvery: number | undefined;
  /** Whether the layer has a bias (its second weight). */
  abstract readonly useBias: boolean;
  private weightParam: LayerVariable | null = null;
  private inputParam: LayerVariable | null = null;

  constructor(
    args: QuantLayerArgs & { name?: string; inputShape?: tf.Shape; batchInputShape?: tf.Shape; batchSize?: number; trainable?: boolean },
  ) {
    // The base layer's own keys pass through: a Sequential model's first layer carries its input
    // shape (and a frozen layer its trainable flag) in its config.
    const base: ConstructorParameters<typeof tf.layers.Layer>[0] = {};
    if (args.name) base.name = args.name;
    if (args.batchInputShape) base.batchInputShape = args.batchInputShape;
    else if (args.inputShape) base.inputShape = args.inputShape;
    if (args.batchSize !== undefined) base.batchSize = args.batchSize;
    if (args.trainable !== undefined) base.trainable = args.trainable;
    super(base);
    this.refitEvery = args.refitEvery ?? undefined;
    this.wq = args.weightQuant ? new Quantizer(args.weightQuant, 'weight', this.refitEvery, 0.9, args.weightState) : null;
    // Activations refit on their format's own schedule: an EMA of the range every step for max-abs
    // int, a fresh fit every 50 steps for searched fits (MSE, percentile, DyBit's scale and kmax).
    this.inputQ = args.inputQuant ? new Quantizer(args.inputQuant, 'activation', undefined, 0.9, args.inputState) : null;
  }

  get weightQ(): Quantizer | null {
    return this.wq;
  }

  /**
   * Puts another weight quantizer in place (DropBits settles a layer on fewer bits than it
   * trained with). Only between fitted formats: a learned format's parameter is a layer weight.
   */
  setWeightQuantizer(q: Quantizer): void {
    if (!this.wq) throw new Error(`layer ${this.name} has no weight quantizer to replace`);
    if (isLearned(q.spec) || isLearned(this.wq.spec))
      throw new Error(`layer ${this.name}: a learned weight format (lsq) cannot be swapped, its parameter is a layer weight`);
    this.wq = q;
  }

  /** Adds the learned quantizer parameters; call at the end of build(), after the layer's own weights. */
  protected addQuantWeights(outChannels: number): void {
    const ws = this.weightQ?.learnedShape(outChannels);
    if (ws) this.weightParam = this.addWeight('weight_quant_param', ws, 'float32', tf.initializers.zeros());
    const is = this.inputQ?.learnedShape(1);
    if (is) this.inputParam = this.addWeight('input_quant_param', is, 'float32', tf.initializers.zeros());
  }

  protected quantizeInput(x: Tensor, training: boolean): Tensor {
    return this.inputQ ? this.inputQ.apply(x, training, this.inputParam ?? undefined) : x;
  }

  protected quantizeKernel(k: Tensor, training: boolean): Tensor {
    return this.weightQ ? this.weightQ.apply(k, training, this.weightParam ?? undefined) : k;
  }

  /** Parameters of the weight quantizer as inference uses them (see Quantizer.effectiveParams). */
  weightParams(): unknown {
    return this.weightQ?.effectiveParams(this.weightParam ?? undefined) ?? null;
  }

  /** Parameters of the input quantizer as inference uses them. */
  inputParams(): unknown {
    return this.inputQ?.effectiveParams(this.inputParam ?? undefined) ?? null;
  }

  /** The kernel as inference sees it (quantized with the last fitted parameters), or the float kernel. */
  quantizedKernel(): Tensor {
    const k = this.weights[0].read();
    return this.weightQ ? this.weightQ.apply(k, false, this.weightParam ?? undefined) : k.clone();
  }

  /** Fits the input quantizer to the activations seen in calibration mode (PTQ). */
  finishCalibration(): boolean {
    return this.inputQ?.finishCalibration(this.inputParam ?? undefined) ?? false;
  }

  protected quantConfig(): tf.serialization.ConfigDict {
    return {
      refitEvery: (this.refitEvery ?? null) as unknown as tf.serialization.ConfigDictValue,
      weightQuant: (this.weightQ?.spec ?? null) as unknown as tf.serialization.ConfigDictValue,
      inputQuant: (this.inputQ?.spec ?? null) as unknown as tf.serialization.ConfigDictValue,
      weightState: (this.weightQ ? serialisableState(this.weightQ.state) : null) as unknown as tf.serialization.ConfigDictValue,
      inputState: (this.inputQ ? serialisableState(this.inputQ.state) : null) as unknown as tf.serialization.ConfigDictValue,
    };
  }
}
