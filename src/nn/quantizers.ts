// Finding the quantizers of a model (for calibration, reports and the packer).
import type { tf } from '../engine/tf.js';
import { QConv2D } from './qconv2d.js';
import { QDense } from './qdense.js';
import { QAct } from './qact.js';
import { withCalibration, type Quantizer } from './quantizer.js';

export interface LayerQuantizers {
  layer: tf.layers.Layer;
  weight: Quantizer | null;
  input: Quantizer | null;
}

export function modelQuantizers(model: tf.LayersModel): LayerQuantizers[] {
  const out: LayerQuantizers[] = [];
  for (const layer of model.layers) {
    if (layer instanceof QConv2D || layer instanceof QDense) out.push({ layer, weight: layer.weightQ, input: layer.inputQ });
    else if (layer instanceof QAct) out.push({ layer, weight: null, input: layer.q });
  }
  return out;
}

/** Post-training calibration: runs the batches in calibration mode, then fits every input quantizer. */
export function calibrateModel(model: tf.LayersModel, batches: Iterable<tf.Tensor>, run: (x: tf.Tensor) => void): number {
  withCalibration(() => {
    for (const x of batches) run(x);
  });
  let fitted = 0;
  for (const layer of model.layers)
    if ((layer instanceof QConv2D || layer instanceof QDense || layer instanceof QAct) && layer.finishCalibration()) fitted++;
  return fitted;
}
