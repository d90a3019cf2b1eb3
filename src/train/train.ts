// Full-precision training of a zoo model on a registered dataset, one checkpoint per epoch.
// Every random stream is derived from the seed and the epoch, so `resume` after a kill -9
// continues exactly where the last finished epoch left off and reproduces the same result.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { deriveSeed, makeRng, permutation } from '../data/rng.js';
import { buildModel } from '../models/zoo.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { lrConfig, optimizerConfig, parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { evaluate } from './evaluate.js';
import { Optimizer } from './optimizer.js';
import { learningRate } from './schedule.js';
import { trainableVariables, trainStep } from './step.js';

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface StepEvent {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
}

export interface TrainEvents {
  onStart?(info: {
    startEpoch: number;
    epochs: number;
    stepsPerEpoch: number;
    trainCount: number;
    testCount: number;
    resumed: boolean;
  }): void;
  onStep?(e: StepEvent): void;
  onEpoch?(r: EpochRecord): void;
}

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
  let model: tf.LayersModel;
  let history: EpochRecord[] = [];
  const optimizer = new Optimizer(optimizerConfig(config));
  let resumed = false;
  if (opts.resume && existsSync(ckptPath)) {
    const ck = await loadCheckpoint(ckptPath);
    const saved = parseTrainConfig(ck.state.config);
    // Everything but the epoch count must match, or the continuation would not be the same run.
    for (const k of Object.keys(saved) as (keyof TrainConfig)[]) {
      if (k === 'epochs' || k === 'threads') continue;
      if (JSON.stringify(saved[k]) !== JSON.stringify(config[k]))
        throw new Error(
          `--resume: ${ckptPath} was trained with ${k}=${JSON.stringify(saved[k])}, but this run has ${k}=${JSON.stringify(config[k])}`,
        );
    }
    config = { ...saved, epochs: config.epochs, threads: config.threads };
    model = ck.model;
    history = (ck.state.history as EpochRecord[]) ?? [];
    if (ck.optimizer) optimizer.importState(ck.optimizer.state);
    resumed = true;
  } else {
    const info = (opts.dataset ?? loadDataset(config.data, config.dataDir ? { dataDir: config.dataDir } : {})).info;
    model = buildModel(config.model, { inputShape: info.shape, numClasses: info.numClasses, seed: config.seed });
  }
  const ds = opts.dataset ?? loadDataset(config.data, config.dataDir ? { dataDir: config.dataDir } : {});
  const train = limitSplit(ds.train, config.limitTrain);
  const test = limitSplit(ds.test, config.limitTest);
  const info = ds.info;
  const augment = config.augment ?? info.augment;
  const lut = normalizationTable(info);
  const lrc = lrConfig(config);
  const batch = Math.min(config.batchSize, train.count);
  // The last partial batch is dropped: a tiny batch would give batch norm noisy statistics.
  const steps = Math.max(1, Math.floor(train.count / batch));
  const vars = trainableVariables(model);
  writeJsonAtomic(path.join(opts.outDir, 'config.json'), config);
  const startEpoch = history.length;
  opts.events?.onStart?.({
    startEpoch,
    epochs: config.epochs,
    stepsPerEpoch: steps,
    trainCount: train.count,
    testCount: test.count,
    resumed,
  });
  for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
    const t0 = performance.now();
    const order = permutation(train.count, makeRng(deriveSeed(config.seed, 'shuffle', epoch)));
    const augRng = makeRng(deriveSeed(config.seed, 'augment', epoch));
    let lossSum = 0,
      correct = 0,
      lr = 0;
    for (let s = 0; s < steps; s++) {
      lr = learningRate(lrc, epoch + s / steps);
      const { x, y } = makeBatch(train, info, order.subarray(s * batch, (s + 1) * batch), lut, { augment, rng: augRng });
      const r = trainStep(model, x, y, optimizer, lr, vars);
      tf.dispose([x, y]);
      if (!Number.isFinite(r.loss)) throw new Error(`training diverged at epoch ${epoch + 1}, step ${s + 1} (loss ${r.loss}); lower --lr`);
      lossSum += r.loss;
      correct += r.correct;
      const elapsed = (performance.now() - t0) / 1000;
      opts.events?.onStep?.({ epoch, step: s + 1, steps, loss: r.loss, lr, imagesPerSecond: ((s + 1) * batch) / elapsed });
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const ev = evaluate(model, test, info, config.evalBatchSize);
    const record: EpochRecord = {
      epoch: epoch + 1,
      lr,
      trainLoss: lossSum / steps,
      trainAccuracy: correct / (steps * batch),
      testLoss: ev.loss,
      testAccuracy: ev.accuracy,
      seconds: (performance.now() - t0) / 1000,
      imagesPerSecond: (steps * batch) / trainSeconds,
    };
    history.push(record);
    saveCheckpoint(ckptPath, {
      model,
      modelSpec: { zoo: config.model, inputShape: info.shape, numClasses: info.numClasses, dataset: config.data },
      optimizer: { config: optimizer.config, state: optimizer.exportState() },
      state: { config, epoch: epoch + 1, history },
    });
    writeJsonAtomic(path.join(opts.outDir, 'metrics.json'), { config, history });
    opts.events?.onEpoch?.(record);
  }
  return { config, history, model, checkpoint: ckptPath };
}
