// Batch normalization over the channel (last) axis as a serializable tfjs-layers layer, with
// an optional fused ReLU. Training mode uses the fused native op and updates the running
// statistics (running = momentum*running + (1-momentum)*batch, unbiased variance, as PyTorch
// with its momentum 0.1); inference mode normalizes with the running statistics.
import { tf, type Tensor } from '../engine/tf.js';
import { batchNormInfer, batchNormTrain } from '../engine/ops/batchnorm.js';

export interface BatchNormArgs {
  name?: string;
  momentum?: number;
  epsilon?: number;
  /** Apply ReLU to the output (fused: one kernel each way). */
  relu?: boolean;
}

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export class BatchNorm extends tf.layers.Layer {
  static className = 'LowbitBatchNorm';
  readonly momentum: number;
  readonly epsilon: number;
  readonly relu: boolean;
  private gamma!: LayerVariable;
  private beta!: LayerVariable;
  private movingMean!: LayerVariable;
  private movingVariance!: LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args.name ? { name: args.name } : {});
    this.momentum = args.momentum ?? 0.9;
    this.epsilon = args.epsilon ?? 1e-5;
    this.relu = args.relu ?? false;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`BatchNorm momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.epsilon > 0)) throw new Error(`BatchNorm epsilon must be > 0, got ${this.epsilon}`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`BatchNorm ${this.name}: channel dimension must be known`);
    this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const gamma = this.gamma.read(),
      beta = this.beta.read();
    if (!kwargs.training) {
      return batchNormInfer(x, gamma, beta, this.movingMean.read(), this.movingVariance.read(), this.epsilon, this.relu);
    }
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.epsilon, this.relu);
    const count = x.size / x.shape[x.shape.length - 1];
    tf.tidy(() => {
      const m = this.momentum;
      const unbiased = tf.mul(variance, count / Math.max(1, count - 1));
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), m), tf.mul(mean, 1 - m)));
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), m), tf.mul(unbiased, 1 - m)));
    });
    mean.dispose();
    variance.dispose();
    return y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon, relu: this.relu };
  }
}

tf.serialization.registerClass(BatchNorm);
