// Full-precision training of a zoo model on a registered dataset, one checkpoint per epoch.
// Every random stream is derived from the seed and the epoch, so `resume` after a kill -9
// continues exactly where the last finished epoch left off and reproduces the same result.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { buildModel } from '../models/zoo.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { lrConfig, optimizerConfig, parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { Optimizer } from './optimizer.js';
import { checkResumable, runEpochs, type EpochRecord, type TrainEvents } from './loop.js';

export type { EpochRecord, StepEvent, TrainEvents } from './loop.js';

export interface TrainOptions {
  /** Run directory: checkpoint.lbck, metrics.json and config.json go here. */
  outDir: string;
  /** Continue from outDir/checkpoint.lbck if it exists. */
  resume?: boolean;
  events?: TrainEvents;
  /** Preloaded dataset (tests and experiment scripts reuse one). */
  dataset?: Dataset;
}

export interface TrainResult {
  config: TrainConfig;
  history: EpochRecord[];
  model: tf.LayersModel;
  checkpoint: string;
}

export const CHECKPOINT_FILE = 'checkpoint.lbck';

/** Trains (or resumes) and returns the final model and per-epoch history. */
export async function runTraining(input: TrainConfigInput, opts: TrainOptions): Promise<TrainResult> {
  let config = parseTrainConfig(input);
  await initEngine(config.threads ? { threads: config.threads } : {});
  const ckptPath = path.join(opts.outDir, CHECKPOINT_FILE);
  let model: tf.LayersModel | undefined;
  let history: EpochRecord[] = [];
  const optimizer = new Optimizer(optimizerConfig(config));
  let resumed = false;
  if (opts.resume && existsSync(ckptPath)) {
    const ck = await loadCheckpoint(ckptPath);
    const saved = parseTrainConfig(ck.state.config);
    // Everything but the epoch count must match, or the continuation would not be the same run.
    checkResumable(saved, config, ['epochs', 'threads'], ckptPath);
    config = { ...saved, epochs: config.epochs, threads: config.threads };
    model = ck.model;
    history = (ck.state.history as EpochRecord[]) ?? [];
    if (ck.optimizer) optimizer.importState(ck.optimizer.state);
    resumed = true;
  }
  const ds = opts.dataset ?? loadDataset(config.data, config.dataDir ? { dataDir: config.dataDir } : {});
  model ??= buildModel(config.model, { inputShape: ds.info.shape, numClasses: ds.info.numClasses, seed: config.seed });
  writeJsonAtomic(path.join(opts.outDir, 'config.json'), config);
  const trained = model;
  runEpochs({
    model: trained,
    train: limitSplit(ds.train, config.limitTrain),
    test: limitSplit(ds.test, config.limitTest),
    info: ds.info,
    settings: {
      epochs: config.epochs,
      batchSize: config.batchSize,
      evalBatchSize: config.evalBatchSize,
      seed: config.seed,
      augment: config.augment ?? ds.info.augment,
      lr: lrConfig(config),
    },
    optimizer,
    history,
    resumed,
    ...(opts.events ? { events: opts.events } : {}),
    save: (h) => {
      saveCheckpoint(ckptPath, {
        model: trained,
        modelSpec: { zoo: config.model, inputShape: ds.info.shape, numClasses: ds.info.numClasses, dataset: config.data },
        optimizer: { config: optimizer.config, state: optimizer.exportState() },
        state: { config, epoch: h.length, history: h },
      });
      writeJsonAtomic(path.join(opts.outDir, 'metrics.json'), { config, history: h });
    },
  });
  return { config, history, model, checkpoint: ckptPath };
}
