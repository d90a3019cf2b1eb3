// QAct: a standalone activation quantizer layer (e.g. after a ReLU in a user's model).
// quantizeModel quantizes activations at the input of QConv2D/QDense instead, which keeps the
// graph unchanged; QAct is for placing a quantizer anywhere else.
import { tf, type Tensor } from '../engine/tf.js';
import { Quantizer, type QuantizerState } from './quantizer.js';
import { serialisableState } from './qlayer-config.js';

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export interface QActArgs {
  name?: string;
  quant: unknown;
  state?: QuantizerState;
}

export class QAct extends tf.layers.Layer {
  static className = 'QAct';
  readonly q: Quantizer;
  private param: LayerVariable | null = null;

  constructor(args: QActArgs) {
    super(args.name ? { name: args.name } : {});
    this.q = new Quantizer(args.quant, 'activation', undefined, 0.9, args.state);
  }

  override build(): void {
    const s = this.q.learnedShape(1);
    if (s) this.param = this.addWeight('quant_param', s, 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return this.q.apply(x, Boolean(kwargs.training), this.param ?? undefined);
  }

  /** The quantizer's parameters as inference uses them. */
  params(): unknown {
    return this.q.effectiveParams(this.param ?? undefined);
  }

  /** Fits the input quantizer to the activations seen in calibration mode (PTQ). */
  finishCalibration(): boolean {
    return this.q.finishCalibration(this.param ?? undefined);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      quant: this.q.spec as unknown as tf.serialization.ConfigDictValue,
      state: serialisableState(this.q.state) as unknown as tf.serialization.ConfigDictValue,
    };
  }
}

tf.serialization.registerClass(QAct);
