// Packing a checkpoint rather than a bare model: a retraining method may keep part of the stored
// form in the checkpoint's method state (pq's codebooks and indices), which the packer needs.
import { QuantLayer } from '../nn/quant-layer.js';
import type { CheckpointData } from '../train/checkpoint.js';
import { productCodes } from '../train/methods/pq.js';
import { packModel } from './pack.js';

export function packCheckpoint(ck: Pick<CheckpointData, 'model' | 'modelSpec' | 'state' | 'arrays'>): ReturnType<typeof packModel> {
  // Float kernels of quantized layers (the ones a product code may hold).
  const shapes = new Map(
    ck.model.layers.filter((l) => l instanceof QuantLayer && !l.weightQ).map((l) => [l.name, l.weights[0].shape as number[]]),
  );
  return packModel(ck.model, ck.modelSpec, productCodes(ck, shapes));
}
