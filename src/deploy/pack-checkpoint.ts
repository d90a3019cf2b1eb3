// Packing a checkpoint rather than a bare model: a retraining method may keep part of the stored
// form in the checkpoint's method state (pq's codebooks and indices), which it hands over as kernel
// codes (QuantMethod.storedKernels) for the packer, the accelerator model and the report.
import type { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import type { CheckpointData } from '../train/checkpoint.js';
import { methodNames, methodOf } from '../train/methods/registry.js';
import type { KernelCode } from '../quant/kernel-code.js';
import { packModel } from './pack.js';

/** Kernel shapes of the quantized layers with float kernels (the ones a method's own stored form may hold). */
export function kernelShapes(model: tf.LayersModel): Map<string, number[]> {
  return new Map(model.layers.filter((l) => l instanceof QuantLayer && !l.weightQ).map((l) => [l.name, l.weights[0].shape as number[]]));
}

/** The kernels the checkpoint's method stores in a form of its own, by layer (empty for most methods). */
export function storedKernels(ck: Pick<CheckpointData, 'model' | 'state' | 'arrays'>): Map<string, KernelCode> {
  const name = (ck.state.options as { method?: string } | undefined)?.method;
  if (!name || !(methodNames as readonly string[]).includes(name)) return new Map();
  return methodOf(name).storedKernels?.(ck, kernelShapes(ck.model)) ?? new Map();
}

export function packCheckpoint(ck: Pick<CheckpointData, 'model' | 'modelSpec' | 'state' | 'arrays'>): ReturnType<typeof packModel> {
  return packModel(ck.model, ck.modelSpec, storedKernels(ck));
}
