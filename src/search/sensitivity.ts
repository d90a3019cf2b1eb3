// Layer sensitivity for mixed-precision search: the Hessian trace of the loss with respect to
// each conv/dense kernel on a calibration batch (inference mode, so batch norm keeps its running
// statistics), by Hutchinson's estimator (hessian.ts).
import { tf, type Tensor } from '../engine/tf.js';
import { softmaxCrossEntropy } from '../engine/ops/softmax-xent.js';
import { hutchinsonTraces, type TraceOptions } from './hessian.js';

export interface LayerSensitivity {
  name: string;
  /** Estimated trace of the Hessian block of the layer's kernel. */
  trace: number;
  weights: number;
}

/** The conv/dense layers of a float model, in order. */
export function kernelLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => ['Conv2D', 'Dense', 'QConv2D', 'QDense'].includes(l.getClassName()));
}

export function layerSensitivities(
  model: tf.LayersModel,
  x: Tensor,
  labels: Tensor,
  o: TraceOptions = {},
): { layers: LayerSensitivity[]; probes: number; converged: boolean } {
  const layers = kernelLayers(model);
  if (layers.length === 0) throw new Error('the model has no conv or dense layer');
  const vars = layers.map((l) => l.weights[0].read() as tf.Variable);
  const gradients = () => {
    const { value, grads } = tf.variableGrads(
      () => softmaxCrossEntropy(model.apply(x, { training: false }) as Tensor, labels) as tf.Scalar,
      vars,
    );
    value.dispose();
    return vars.map((v) => grads[v.name]);
  };
  const r = hutchinsonTraces(
    vars,
    layers.map((_, i) => [i]),
    gradients,
    o,
  );
  return {
    layers: layers.map((l, i) => ({ name: l.name, trace: r.traces[i], weights: vars[i].size })),
    probes: r.probes,
    converged: r.converged,
  };
}
