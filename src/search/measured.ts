// Measured sensitivity: the loss increase on a calibration batch when one layer alone has its
// weights (or its input activations) quantized with a candidate — the "measured" alternative to
// the Hessian proxy, and the activation term of the search's value.
import { tf, type Tensor } from '../engine/tf.js';
import { softmaxCrossEntropy } from '../engine/ops/softmax-xent.js';
import { quantizeModel } from '../nn/quantize-model.js';
import { calibrateModel } from '../nn/quantizers.js';

export function calibrationLoss(model: tf.LayersModel, x: Tensor, labels: Tensor): number {
  return tf.tidy(() => softmaxCrossEntropy(model.apply(x, { training: false }) as Tensor, labels).dataSync()[0]);
}

/** Loss with layer `name` alone quantized (weights and/or input), calibrated on x. */
export async function lossWithOneLayer(
  model: tf.LayersModel,
  x: Tensor,
  labels: Tensor,
  name: string,
  q: { weight?: Record<string, unknown>; activation?: Record<string, unknown> },
): Promise<number> {
  const { model: m } = await quantizeModel(model, {
    weight: null,
    activation: null,
    keepEndsAt8Bits: false,
    overrides: [{ match: name, weight: q.weight ?? null, activation: q.activation ?? null }],
  });
  calibrateModel(m, [x], (b) => tf.tidy(() => void m.apply(b, { training: false })));
  // Weight quantizers fit on first use in inference; one pass fits them before the measured one.
  const loss = calibrationLoss(m, x, labels);
  m.dispose();
  return loss;
}
