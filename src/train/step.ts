// One training step and evaluation on a tfjs LayersModel.
import { tf, type Tensor } from '../engine/tf.js';
import { softmaxCrossEntropy } from '../engine/ops/softmax-xent.js';
import type { Optimizer } from './optimizer.js';
import { withBufferPool } from '../engine/buffer-pool.js';

/** The tf.Variables behind a model's trainable weights, in a stable order. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

export interface StepResult {
  loss: number;
  /** Correct top-1 predictions in the batch (from the training-mode forward pass). */
  correct: number;
}

/** Forward in training mode, backward, optimizer update. */
export function trainStep(
  model: tf.LayersModel,
  x: Tensor,
  labels: Tensor,
  opt: Optimizer,
  lr: number,
  vars = trainableVariables(model),
  /** Rewrites the gradients (ordered as vars) before the update; returns new tensors or the same. */
  gradHook?: (vars: tf.Variable[], grads: Tensor[]) => Tensor[],
  /** Soft targets [batch, classes] (distillation) that replace the labels in the loss. */
  soft?: Tensor,
): StepResult {
  return withBufferPool(() => {
    let correct = 0;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as Tensor;
      correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')).dataSync()[0]);
      // Cross-entropy with the teacher's probabilities: the KL divergence up to the teacher's entropy.
      if (soft) return tf.neg(tf.mean(tf.sum(tf.mul(soft, tf.logSoftmax(logits)), 1))) as tf.Scalar;
      return softmaxCrossEntropy(logits, labels) as tf.Scalar;
    }, vars);
    const ordered = vars.map((v) => {
      const g = grads[v.name];
      if (!g) throw new Error(`no gradient for variable ${v.name}`);
      return g;
    });
    const used = gradHook ? gradHook(vars, ordered) : ordered;
    opt.apply(vars, used, lr);
    const loss = value.dataSync()[0];
    value.dispose();
    for (const g of new Set([...ordered, ...used])) g.dispose();
    return { loss, correct };
  });
}

/** Logits in inference mode (running BN statistics), no gradient bookkeeping. */
export function predictLogits(model: tf.LayersModel, x: Tensor): Tensor {
  return tf.tidy(() => model.apply(x, { training: false }) as Tensor);
}
