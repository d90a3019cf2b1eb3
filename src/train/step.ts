// One training step and evaluation on a tfjs LayersModel.
import { tf, type Tensor } from '../engine/tf.js';
import { softmaxCrossEntropy } from '../engine/ops/softmax-xent.js';
import type { Optimizer } from './optimizer.js';
import { withBufferPool } from '../engine/buffer-pool.js';

/** The tf.Variables behind a model's trainable weights, in a stable order. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Forward in training mode, backward, optimizer update; returns the batch loss. */
export function trainStep(model: tf.LayersModel, x: Tensor, labels: Tensor, opt: Optimizer, lr: number, vars = trainableVariables(model)): number {
  return withBufferPool(() => {
  const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(model.apply(x, { training: true }) as Tensor, labels) as tf.Scalar, vars);
  const ordered = vars.map((v) => {
    const g = grads[v.name];
    if (!g) throw new Error(`no gradient for variable ${v.name}`);
    return g;
  });
  opt.apply(vars, ordered, lr);
  const loss = value.dataSync()[0];
  value.dispose();
  for (const g of ordered) g.dispose();
  return loss;
  });
}

/** Logits in inference mode (running BN statistics), no gradient bookkeeping. */
export function predictLogits(model: tf.LayersModel, x: Tensor): Tensor {
  return tf.tidy(() => model.apply(x, { training: false }) as Tensor);
}
