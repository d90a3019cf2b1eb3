// Finding the quantizers of a model (for calibration, reports and the packer).
import type { tf } from '../engine/tf.js';
import { QuantLayer } from './quant-layer.js';
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
    if (layer instanceof QuantLayer) out.push({ layer, weight: layer.weightQ, input: layer.inputQ });
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
  for (const layer of model.layers) if ((layer instanceof QuantLayer || layer instanceof QAct) && layer.finishCalibration()) fitted++;
  return fitted;
}

/** Per-weight quantizer data to store with the model, by name (MPQ flags as 0/1). */
export function quantizerArrays(model: tf.LayersModel): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const { layer, weight } of modelQuantizers(model))
    if (weight?.flags) out[`quant/${layer.name}/flags`] = Float32Array.from(weight.flags);
  return out;
}

/** Puts stored quantizer arrays back into a rebuilt model; refuses arrays that do not fit it. */
export function restoreQuantizerArrays(model: tf.LayersModel, arrays: Record<string, Float32Array>): void {
  const byName = new Map(modelQuantizers(model).map((q) => [q.layer.name, q]));
  for (const [key, a] of Object.entries(arrays)) {
    if (!key.startsWith('quant/')) continue;
    const m = /^quant\/(.+)\/flags$/.exec(key);
    const q = m ? byName.get(m[1]) : undefined;
    if (!m || !q?.weight) throw new Error(`quantizer array ${key} matches no quantized layer of the model`);
    const kernel = q.layer.weights[0];
    const size = kernel ? kernel.shape.reduce((x: number, y) => x * (y ?? 0), 1) : -1;
    if (a.length !== size) throw new Error(`quantizer array ${key} has ${a.length} entries, the layer has ${size} weights`);
    if (!a.every((v) => v === 0 || v === 1)) throw new Error(`quantizer array ${key} holds values other than 0 and 1`);
    q.weight.flags = Uint8Array.from(a);
  }
}
