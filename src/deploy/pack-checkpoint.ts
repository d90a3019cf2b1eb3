// Packing a checkpoint rather than a bare model: a retraining method may keep part of the stored
// form in the checkpoint's method state (pq's codebooks and indices), which the packer needs.
import type { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import type { CheckpointData } from '../train/checkpoint.js';
import { productCodes } from '../train/methods/pq.js';
import { productStoredCode, type StoredCode } from '../hw/from-model.js';
import { packModel } from './pack.js';

/** Kernel shapes of the quantized layers with float kernels (the ones a product code may hold). */
export function kernelShapes(model: tf.LayersModel): Map<string, number[]> {
  return new Map(model.layers.filter((l) => l instanceof QuantLayer && !l.weightQ).map((l) => [l.name, l.weights[0].shape as number[]]));
}

/** The checkpoint's product-coded layers as the accelerator model fetches them (packed indices + fp16 codebook). */
export function storedCodes(ck: Pick<CheckpointData, 'model' | 'state' | 'arrays'>): Map<string, StoredCode> {
  const out = new Map<string, StoredCode>();
  for (const [name, c] of productCodes(ck, kernelShapes(ck.model))) {
    const k = c.centroids.length / c.d,
      count = c.assign.length;
    out.set(name, productStoredCode(count, k, c.d));
  }
  return out;
}

export function packCheckpoint(ck: Pick<CheckpointData, 'model' | 'modelSpec' | 'state' | 'arrays'>): ReturnType<typeof packModel> {
  return packModel(ck.model, ck.modelSpec, productCodes(ck, kernelShapes(ck.model)));
}
