// Full-precision training of a zoo model (or fine-tuning of an imported .onnx / model.json) on a
// registered dataset, one checkpoint per epoch.
// Every random stream is derived from the seed and the epoch, so `resume` after a kill -9
// continues exactly where the last finished epoch left off and reproduces the same result.
import path from 'node:path';
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { dataSpecOf, fitTo, trainedInputOf } from '../data/model-data.js';
import { buildModel } from '../models/zoo.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { lrConfig, optimizerConfig, parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { Optimizer } from './optimizer.js';
import {
  checkResumable,
  DivergedError,
  parseHistory,
  runEpochsAsync,
  type EpochRecord,
  type LoopControl,
  type TrainEvents,
} from './loop.js';
import { CHECKPOINT_FILE, checkSpace, openRunDir } from './run-dir.js';
import { checkFits, importModelFile, isModelFile } from './import-run.js';

export type { EpochRecord, StepEvent, TrainEvents } from './loop.js';

export interface TrainOptions {
  /** Run directory: checkpoint.lbck, metrics.json and config.json go here. */
  outDir: string;
  /** Continue from outDir/checkpoint.lbck if it exists (its settings must equal these). */
  resume?: boolean;
  /** Replace a run already in outDir. Without it (or resume), an existing run is refused. */
  force?: boolean;
  /** With resume: the epoch count may differ from the checkpoint's (not below the epochs done). */
  extendEpochs?: boolean;
  events?: TrainEvents;
  /** Preloaded dataset (tests and experiment scripts reuse one). */
  dataset?: Dataset;
  /** Stop requests and work after each saved epoch (a queue worker uploads the checkpoint there). */
  control?: LoopControl;
}

export interface TrainResult {
  config: TrainConfig;
  history: EpochRecord[];
  model: tf.LayersModel;
  checkpoint: string;
}

export { CHECKPOINT_FILE } from './run-dir.js';

/** Trains (or resumes) and returns the final model and per-epoch history. */
export async function runTraining(input: TrainConfigInput, opts: TrainOptions): Promise<TrainResult> {
  const parsed = parseTrainConfig(input);
  const engine = await initEngine(parsed.threads ? { threads: parsed.threads } : {});
  // The thread count changes floating-point sums, so the run records the one it used.
  let config: TrainConfig = { ...parsed, threads: engine.threads };
  const run = openRunDir({ outDir: opts.outDir, command: 'train', ...pick(opts) });
  let failed = true;
  try {
    const r = await trainIn(config, opts, run.existing);
    failed = false;
    return r;
  } finally {
    run.close(failed);
  }

  async function trainIn(c: TrainConfig, o: TrainOptions, existing: boolean): Promise<TrainResult> {
    config = c;
    const ckptPath = path.join(o.outDir, CHECKPOINT_FILE);
    let model: tf.LayersModel | undefined;
    let history: EpochRecord[] = [];
    let savedSpec: Record<string, unknown> | null = null;
    const optimizer = new Optimizer(optimizerConfig(config));
    if (existing) {
      const ck = await loadCheckpoint(ckptPath);
      const saved = parseTrainConfig(ck.state.config);
      history = parseHistory(ck.state.history, ckptPath);
      checkResumable(saved, config, ckptPath, { extendEpochs: o.extendEpochs, done: history.length });
      model = ck.model;
      savedSpec = ck.modelSpec;
      if (ck.optimizer) optimizer.importState(ck.optimizer.state);
    }
    let ds = o.dataset ?? (await loadDataset(config.data, config.dataDir ? { dataDir: config.dataDir } : {}));
    // A resumed run keeps the classes and normalisation its first epochs were trained with.
    const before = savedSpec && trainedInputOf(savedSpec);
    if (before) ds = fitTo(ds, before, ckptPath);
    // A model file starts from its own weights (fine-tuning); a zoo model from the seed's.
    let source: Record<string, unknown> | null = null;
    if (!model && isModelFile(config.model)) {
      const m = await importModelFile(config.model);
      checkFits(config.model, m, config.data, ds.info);
      model = m.model;
      source = { file: path.basename(config.model), sha256: m.sha256, format: m.format };
    }
    model ??= buildModel(config.model, { inputShape: ds.info.shape, numClasses: ds.info.numClasses, seed: config.seed });
    // Weights and one or two optimizer slots per weight, as float32.
    checkSpace(o.outDir, model.countParams() * 4 * (config.optimizer === 'adam' ? 3 : 2));
    writeJsonAtomic(path.join(o.outDir, 'config.json'), config);
    const trained = model;
    const modelSpec = {
      ...(isModelFile(config.model) ? { imported: source ?? { file: path.basename(config.model) } } : { zoo: config.model }),
      inputShape: ds.info.shape,
      numClasses: ds.info.numClasses,
      ...dataSpecOf(ds.info),
    };
    try {
      await runEpochsAsync(
        {
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
          resumed: existing,
          ...(o.events ? { events: o.events } : {}),
          save: (h) => {
            const finished = h.length >= config.epochs;
            saveCheckpoint(ckptPath, {
              model: trained,
              modelSpec,
              optimizer: { config: optimizer.config, state: optimizer.exportState() },
              state: { config, epoch: h.length, history: h, finished },
            });
            writeJsonAtomic(path.join(o.outDir, 'metrics.json'), { config, history: h, finished });
          },
        },
        o.control,
      );
    } catch (e) {
      // The checkpoint of the last finished epoch stays; metrics.json says why the run stopped.
      if (e instanceof DivergedError)
        writeJsonAtomic(path.join(o.outDir, 'metrics.json'), { config, history, finished: false, stopped: e.message });
      throw e;
    }
    return { config, history, model: trained, checkpoint: ckptPath };
  }
}

function pick(o: TrainOptions): { resume?: boolean; force?: boolean; extendEpochs?: boolean } {
  return { ...(o.resume ? { resume: true } : {}), ...(o.force ? { force: true } : {}), ...(o.extendEpochs ? { extendEpochs: true } : {}) };
}
