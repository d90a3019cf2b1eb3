// One stage of a pipeline, declared as data and run the same way by every orchestrator: `lowbit
// demo` and the experiment runner (experiments/run.ts) both hand their stages to runStage, so a
// stage behaves the same (run directory, resume and force, progress, front.json) wherever it runs.
import path from 'node:path';
import type { Dataset } from '../data/load.js';
import { datasetOfModel } from '../data/model-data.js';
import type { TrainConfigInput } from '../train/config.js';
import type { TrainEvents } from '../train/loop.js';
import { runTraining, type TrainResult } from '../train/train.js';
import { runQuantization, type QuantizeOptionsInput, type QuantizeResult } from '../train/quantize.js';
import { loadRunCheckpoint } from '../train/load-run.js';
import {
  planSearch,
  runFront,
  type FrontPoint,
  type FrontQueue,
  type SearchPlan,
  type SearchPoint,
  type SearchSettings,
} from '../search/search.js';
import { checkWritableDir } from '../util/output.js';
import { lockDirectory } from '../util/lock.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { OptionError, opt } from '../util/option-error.js';

/** The retraining of each search point (QAT from the FP checkpoint). */
export interface SearchRetrain {
  epochs: number;
  lr: number;
  batchSize?: number;
  seed?: number;
  limitTrain?: number;
  limitTest?: number;
  threads?: number;
}

export type Stage =
  /** Train a full-precision model. */
  | { kind: 'train'; config: TrainConfigInput }
  /** Quantize (and retrain) a checkpoint with a method. */
  | { kind: 'quantize'; options: QuantizeOptionsInput }
  /** Plan a mixed-precision search from a checkpoint, retrain and simulate every point. */
  | { kind: 'search'; from: string; settings: SearchSettings; retrain: SearchRetrain };

export interface StageRun {
  /** The stage's run directory (a search keeps front.json and one run per point in it). */
  outDir: string;
  dataset?: Dataset;
  resume?: boolean;
  force?: boolean;
  events?: TrainEvents;
  /** Search: after each point is retrained and simulated. */
  onPoint?: (p: FrontPoint) => void;
  /** Search: the directory of point i (default NN-kind[-budget] in outDir). */
  pointDir?: (p: SearchPoint, i: number) => string;
  /** Search: retrain the points on a job queue's workers instead of here. */
  queue?: FrontQueue;
}

export type StageResult =
  | { kind: 'train'; result: TrainResult }
  | { kind: 'quantize'; result: QuantizeResult }
  | { kind: 'search'; plan: SearchPlan; front: FrontPoint[]; timings: { planSeconds: number; pointSeconds: (number | null)[] } };

/** Runs a stage; the result's kind is the stage's. */
export async function runStage<S extends Stage>(stage: S, run: StageRun): Promise<Extract<StageResult, { kind: S['kind'] }>> {
  return (await runAny(stage, run)) as Extract<StageResult, { kind: S['kind'] }>;
}

async function runAny(stage: Stage, run: StageRun): Promise<StageResult> {
  const runs = { ...(run.resume ? { resume: true } : {}), ...(run.force ? { force: true } : {}) };
  switch (stage.kind) {
    case 'train':
      return {
        kind: 'train',
        result: await runTraining(stage.config, { outDir: run.outDir, ...runs, events: run.events, dataset: run.dataset }),
      };
    case 'quantize':
      return {
        kind: 'quantize',
        result: await runQuantization(stage.options, { outDir: run.outDir, ...runs, events: run.events, dataset: run.dataset }),
      };
    case 'search':
      return runSearchStage(stage, run, runs);
    default: {
      const never: never = stage;
      throw new Error(`unknown stage ${JSON.stringify(never)}`);
    }
  }
}

/** A search: front.json in outDir is written before the first point and after each one (complete when all are). */
async function runSearchStage(
  stage: Extract<Stage, { kind: 'search' }>,
  run: StageRun,
  runs: { resume?: boolean; force?: boolean },
): Promise<StageResult> {
  const lock = lockDirectory(checkWritableDir(run.outDir, opt('outDir')), 'search');
  try {
    const { ck, file } = await loadRunCheckpoint(stage.from, opt('from'));
    const dataset = run.dataset ?? (await datasetOfModel(ck.modelSpec, stage.from));
    const t0 = performance.now();
    const plan = await planSearch(ck.model, dataset, stage.settings);
    // Wall times of the sensitivity pass and of each point (this run's: a resumed point counts its rest only).
    const timings = { planSeconds: (performance.now() - t0) / 1000, pointSeconds: [] as (number | null)[] };
    const points: FrontPoint[] = [];
    const byIndex: FrontPoint[] = [];
    const save = () =>
      writeJsonAtomic(path.join(run.outDir, 'front.json'), {
        settings: { ...stage.settings, retrain: stage.retrain },
        from: { file, sha256: ck.sha256 },
        complete: points.length === plan.points.length,
        int8Cost: plan.int8Cost,
        sensitivities: plan.sensitivities,
        plan: plan.points,
        points,
        timings,
      });
    save();
    const pointDir =
      run.pointDir ??
      ((p: SearchPoint, i: number) =>
        path.join(run.outDir, `${String(i).padStart(2, '0')}-${p.kind}${p.budget === null ? '' : `-${p.budget}`}`));
    const front = await runFront(
      plan,
      file,
      stage.settings.accel,
      stage.retrain,
      pointDir,
      dataset,
      (p, i, seconds) => {
        // In plan order, whatever order a queue finishes them in.
        byIndex[i] = p;
        timings.pointSeconds[i] = seconds;
        points.splice(0, points.length, ...byIndex.filter(Boolean));
        save();
        run.onPoint?.(p);
      },
      runs,
      run.queue,
    );
    return { kind: 'search', plan, front, timings };
  } finally {
    lock.release();
  }
}
