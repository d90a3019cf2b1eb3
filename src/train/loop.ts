// The epoch loop shared by full-precision training and quantization-aware retraining:
// seeded shuffling and augmentation per epoch, one optimizer step per batch, evaluation and
// a save callback after every epoch (checkpoints are the caller's business).
import { tf } from '../engine/tf.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import type { LabeledImages } from '../data/cifar.js';
import type { DatasetInfo } from '../data/datasets.js';
import { deriveSeed, makeRng, permutation } from '../data/rng.js';
import { evaluate } from './evaluate.js';
import type { Optimizer } from './optimizer.js';
import { learningRate, type LrConfig } from './schedule.js';
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

export interface LoopSettings {
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  seed: number;
  augment: boolean;
  lr: LrConfig;
}

export interface LoopArgs {
  model: tf.LayersModel;
  train: LabeledImages;
  test: LabeledImages;
  info: DatasetInfo;
  settings: LoopSettings;
  optimizer: Optimizer;
  /** Epochs already done (resume); extended in place. */
  history: EpochRecord[];
  resumed: boolean;
  events?: TrainEvents;
  /** Called after every epoch with the history so far (write the checkpoint here). */
  save(history: EpochRecord[]): void;
  /** Called before each step (e.g. to update a method's state or report progress fields). */
  beforeStep?(epoch: number, step: number, steps: number): void;
  /** Called after each step with the model (e.g. to track quantization codes). */
  afterStep?(epoch: number, step: number, steps: number): void;
}

/** Runs the remaining epochs; returns the full history. */
export function runEpochs(a: LoopArgs): EpochRecord[] {
  const { model, train, test, info, settings: s, optimizer } = a;
  const lut = normalizationTable(info);
  const batch = Math.min(s.batchSize, train.count);
  // The last partial batch is dropped: a tiny batch would give batch norm noisy statistics.
  const steps = Math.max(1, Math.floor(train.count / batch));
  const vars = trainableVariables(model);
  const startEpoch = a.history.length;
  a.events?.onStart?.({
    startEpoch,
    epochs: s.epochs,
    stepsPerEpoch: steps,
    trainCount: train.count,
    testCount: test.count,
    resumed: a.resumed,
  });
  for (let epoch = startEpoch; epoch < s.epochs; epoch++) {
    const t0 = performance.now();
    const order = permutation(train.count, makeRng(deriveSeed(s.seed, 'shuffle', epoch)));
    const augRng = makeRng(deriveSeed(s.seed, 'augment', epoch));
    let lossSum = 0,
      correct = 0,
      lr = 0;
    for (let st = 0; st < steps; st++) {
      lr = learningRate(s.lr, epoch + st / steps);
      a.beforeStep?.(epoch, st, steps);
      const { x, y } = makeBatch(train, info, order.subarray(st * batch, (st + 1) * batch), lut, { augment: s.augment, rng: augRng });
      const r = trainStep(model, x, y, optimizer, lr, vars);
      tf.dispose([x, y]);
      if (!Number.isFinite(r.loss)) throw new Error(`training diverged at epoch ${epoch + 1}, step ${st + 1} (loss ${r.loss}); lower --lr`);
      a.afterStep?.(epoch, st, steps);
      lossSum += r.loss;
      correct += r.correct;
      const elapsed = (performance.now() - t0) / 1000;
      a.events?.onStep?.({ epoch, step: st + 1, steps, loss: r.loss, lr, imagesPerSecond: ((st + 1) * batch) / elapsed });
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const ev = evaluate(model, test, info, s.evalBatchSize);
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
    a.history.push(record);
    a.save(a.history);
    a.events?.onEpoch?.(record);
  }
  return a.history;
}

/** Refuses to resume a run whose settings differ from the checkpoint's (except those listed). */
export function checkResumable(saved: Record<string, unknown>, current: Record<string, unknown>, ignore: string[], ckptPath: string): void {
  for (const k of new Set([...Object.keys(saved), ...Object.keys(current)])) {
    if (ignore.includes(k)) continue;
    if (JSON.stringify(saved[k]) !== JSON.stringify(current[k]))
      throw new Error(
        `--resume: ${ckptPath} was trained with ${k}=${JSON.stringify(saved[k])}, but this run has ${k}=${JSON.stringify(current[k])}`,
      );
  }
}
