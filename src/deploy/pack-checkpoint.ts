// Packing a checkpoint rather than a bare model: a retraining method may keep part of the stored
// form in the checkpoint's method state (pq's codebooks and indices), which the packer needs.
import type { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import type { CheckpointData } from '../train/checkpoint.js';
import { productCodes } from '../train/methods/pq.js';
import { packModel } from './pack.js';

/** Kernel shapes of the quantized layers with float kernels (the ones a product code may hold). */
export function kernelShapes(model: tf.LayersModel): Map<string, number[]> {
  return new Map(model.layers.filter((l) => l instanceof QuantLayer && !l.weightQ).map((l) => [l.name, l.weights[0].shape as number[]]));
}

export function packCheckpoint(ck: Pick<CheckpointData, 'model' | 'modelSpec' | 'state' | 'arrays'>): ReturnType<typeof packModel> {
  return packModel(ck.model, ck.modelSpec, productCodes(ck, kernelShapes(ck.model)));
}
