// Trains any tfjs LayersModel — the user's own, float or quantized by quantizeModel — with
// lowbit's training loop (native kernels, SGD with momentum, cosine schedule, the straight-through
// and learned-step gradients of quantized layers). The zoo runs (runTraining, runQuantization)
// add checkpoints, resume and methods on top; this is the short path for library users.
import type { tf } from '../engine/tf.js';
import type { Dataset } from '../data/load.js';
import { limitSplit } from '../data/load.js';
import { runEpochs } from './loop.js';
import { Optimizer } from './optimizer.js';
import type { EpochRecord, TrainEvents } from './train.js';

export interface FitModelOptions {
  epochs: number;
  lr: number;
  batchSize?: number;
  momentum?: number;
  weightDecay?: number;
  seed?: number;
  augment?: boolean;
  limitTrain?: number;
  limitTest?: number;
  events?: TrainEvents;
}

/** Trains `model` in place on the dataset; returns the per-epoch history (test accuracy included). */
export function fit(model: tf.LayersModel, data: Dataset, o: FitModelOptions): EpochRecord[] {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${o.epochs}`);
  if (!(o.lr > 0)) throw new Error(`fit: lr must be > 0, got ${o.lr}`);
  const history: EpochRecord[] = [];
  runEpochs({
    model,
    train: limitSplit(data.train, o.limitTrain),
    test: limitSplit(data.test, o.limitTest),
    info: data.info,
    settings: {
      epochs: o.epochs,
      batchSize: o.batchSize ?? 128,
      evalBatchSize: 500,
      seed: o.seed ?? 1,
      augment: o.augment ?? data.info.augment,
      lr: { lr: o.lr, schedule: { kind: 'cosine' }, warmupEpochs: 0, epochs: o.epochs },
    },
    optimizer: new Optimizer({ kind: 'sgd', momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 1e-4, nesterov: false }),
    history,
    resumed: false,
    ...(o.events ? { events: o.events } : {}),
    save: () => {},
  });
  return history;
}
