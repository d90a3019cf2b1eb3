// The epoch loop shared by full-precision training and quantization-aware retraining:
// seeded shuffling and augmentation per epoch, one optimizer step per batch, evaluation and
// a save callback after every epoch (checkpoints are the caller's business).
import { z } from 'zod';
import { tf, type Tensor } from '../engine/tf.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import type { LabeledImages } from '../data/cifar.js';
import type { DatasetInfo } from '../data/datasets.js';
import { deriveSeed, makeRng, permutation } from '../data/rng.js';
import { evaluate } from './evaluate.js';
import type { Optimizer } from './optimizer.js';
import { learningRate, type LrConfig } from './schedule.js';
import { trainableVariables, trainStep } from './step.js';
import { OptionError, opt } from '../util/option-error.js';

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
  /** A retraining method's figures at the end of the epoch (SQ ratio, share of flagged weights, ...). */
  method?: Record<string, number>;
}

export interface StepEvent {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  /** A retraining method's state in a few words (e.g. "SQ ratio 0.75"). */
  status?: string;
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
  /** A retraining method's part in every step. */
  hooks?: StepHooks;
}

/**
 * How a retraining method takes part in the loop. Positions `t` are in epochs (fractional:
 * epoch + step/steps), `step` counts optimizer steps from the start of training.
 */
export interface StepHooks {
  /** Learning rate at t, replacing the schedule (e.g. SQ restarts it at every stage). */
  lrAt?(t: number): number;
  beforeStep?(t: number, step: number): void;
  /** Rewrites the gradients before the update (e.g. MPQ's threshold-aware learning rate). */
  gradients?(vars: tf.Variable[], grads: Tensor[]): Tensor[];
  /** Soft targets for the batch x (distillation from a teacher), replacing the labels in the loss. */
  targets?(x: Tensor): Tensor;
  afterStep?(t: number, step: number): void;
  /** The method's state in a few words for the progress line. */
  status?(): string;
  /** Figures added to the epoch record. */
  epochMetrics?(): Record<string, number>;
}

/**
 * A loss above this many nats means the network no longer predicts anything (10 classes start at
 * ln 10 = 2.3; a loss of 1e4 puts the true class e^-10000 below the best). A run that gets there
 * does not recover, and letting it finish would record a broken model as a finished run.
 */
export const DIVERGED_LOSS = 1e4;

/** Training stopped because the loss diverged; the checkpoint of the last finished epoch stays, unfinished. */
export class DivergedError extends OptionError {
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly loss: number,
  ) {
    super(
      `training diverged at epoch ${epoch + 1}, step ${step + 1} (loss ${loss.toPrecision(3)}); the run is left unfinished after epoch ${epoch}; lower ${opt('lr')}`,
    );
    this.name = 'DivergedError';
  }
}

/** Optimizer steps per epoch: the last partial batch is dropped (a tiny batch would give batch norm noisy statistics). */
export function stepsPerEpoch(trainCount: number, batchSize: number): number {
  return Math.max(1, Math.floor(trainCount / Math.min(batchSize, trainCount)));
}

/** Where the loop pauses: after every optimizer step, and after every epoch's save. */
export type LoopPause = 'step' | 'epoch';

/**
 * The loop as a generator that pauses at every step and after every save: `runEpochs` drives it
 * straight through, `runEpochsAsync` gives the event loop a turn at each pause (a queue worker
 * renews its job lock and hears SIGTERM there) and awaits the caller after each save.
 */
function* epochLoop(a: LoopArgs): Generator<LoopPause, EpochRecord[]> {
  const { model, train, test, info, settings: s, optimizer } = a;
  const lut = normalizationTable(info);
  const batch = Math.min(s.batchSize, train.count);
  const steps = stepsPerEpoch(train.count, s.batchSize);
  const h = a.hooks ?? {};
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
      const t = epoch + st / steps,
        global = epoch * steps + st;
      lr = h.lrAt ? h.lrAt(t) : learningRate(s.lr, t);
      h.beforeStep?.(t, global);
      const { x, y } = makeBatch(train, info, order.subarray(st * batch, (st + 1) * batch), lut, { augment: s.augment, rng: augRng });
      const soft = h.targets?.(x);
      const r = trainStep(model, x, y, optimizer, lr, vars, h.gradients, soft);
      tf.dispose(soft ? [x, y, soft] : [x, y]);
      if (!Number.isFinite(r.loss) || r.loss > DIVERGED_LOSS) throw new DivergedError(epoch, st, r.loss);
      h.afterStep?.(t, global);
      lossSum += r.loss;
      correct += r.correct;
      const elapsed = (performance.now() - t0) / 1000;
      const status = h.status?.();
      a.events?.onStep?.({
        epoch,
        step: st + 1,
        steps,
        loss: r.loss,
        lr,
        imagesPerSecond: ((st + 1) * batch) / elapsed,
        ...(status ? { status } : {}),
      });
      yield 'step';
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
    const m = h.epochMetrics?.();
    if (m) record.method = m;
    a.history.push(record);
    a.save(a.history);
    a.events?.onEpoch?.(record);
    yield 'epoch';
  }
  return a.history;
}

/** Runs the remaining epochs; returns the full history. */
export function runEpochs(a: LoopArgs): EpochRecord[] {
  const loop = epochLoop(a);
  for (;;) {
    const r = loop.next();
    if (r.done) return r.value;
  }
}

/** Pausing points of an asynchronous run: a stop request and work after each saved epoch. */
export interface LoopControl {
  /** Checked at every step: when aborted, the run stops with a StoppedError (the last saved epoch stays). */
  signal?: AbortSignal;
  /** Awaited after each epoch's save (e.g. upload the checkpoint before the next epoch starts). */
  afterSave?(history: EpochRecord[]): Promise<void>;
}

/** The run was asked to stop; its checkpoint holds the epochs finished before. */
export class StoppedError extends Error {
  constructor(readonly epochsDone: number) {
    super(`stopped on request after ${epochsDone} finished epoch${epochsDone === 1 ? '' : 's'}; the run resumes from there`);
    this.name = 'StoppedError';
  }
}

/** `runEpochs` that yields to the event loop at every step. */
export async function runEpochsAsync(a: LoopArgs, c: LoopControl = {}): Promise<EpochRecord[]> {
  const loop = epochLoop(a);
  for (;;) {
    if (c.signal?.aborted) throw new StoppedError(a.history.length);
    const r = loop.next();
    if (r.done) return r.value;
    if (r.value === 'epoch' && c.afterSave) await c.afterSave(a.history);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const finite = z.number().finite();
const epochRecordSchema = z
  .object({
    epoch: z.number().int().min(1),
    lr: finite,
    trainLoss: finite,
    trainAccuracy: finite,
    testLoss: finite,
    testAccuracy: finite,
    seconds: finite,
    imagesPerSecond: finite,
    method: z.record(z.string(), finite.nullable()).optional(),
  })
  .strict();

/** The epoch history a checkpoint carries, checked before a resume counts its epochs. */
export function parseHistory(raw: unknown, file: string): EpochRecord[] {
  const r = z
    .array(epochRecordSchema)
    .max(100_000)
    .safeParse(raw ?? []);
  if (!r.success) throw new Error(`${file}: damaged history: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
  r.data.forEach((h, i) => {
    if (h.epoch !== i + 1) throw new Error(`${file}: damaged history: record ${i} is epoch ${h.epoch}, expected ${i + 1}`);
  });
  return r.data as EpochRecord[];
}

/**
 * Refuses to resume a run whose resolved settings differ from the checkpoint's in any field, the
 * thread count included (it changes the floating-point sums). The epoch count may change only with
 * `extendEpochs`, and never below the epochs already done.
 */
export function checkResumable(
  saved: Record<string, unknown>,
  current: Record<string, unknown>,
  ckptPath: string,
  o: { extendEpochs?: boolean; done: number },
): void {
  for (const k of new Set([...Object.keys(saved), ...Object.keys(current)])) {
    if (k === 'epochs' && o.extendEpochs) continue;
    if (JSON.stringify(saved[k]) !== JSON.stringify(current[k]))
      throw new OptionError(
        `${opt('resume')}: ${ckptPath} was trained with ${k}=${JSON.stringify(saved[k]) ?? '(unset)'}, ` +
          `but this run has ${k}=${JSON.stringify(current[k]) ?? '(unset)'}${k === 'epochs' ? ` (pass ${opt('extendEpochs')} to change the epoch count)` : ''}`,
      );
  }
  if (typeof current.epochs === 'number' && current.epochs < o.done)
    throw new OptionError(
      `${opt('extendEpochs')}: ${ckptPath} has ${o.done} epochs done; ${opt('epochs')} ${current.epochs} would shorten it`,
    );
}
