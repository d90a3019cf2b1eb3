// Median time of SGD-momentum training steps on synthetic data, shared by the benchmarks.
import { tf } from '../src/engine/tf.js';
import type { InputShape } from '../src/models/common.js';
import { Optimizer } from '../src/train/optimizer.js';
import { trainStep, trainableVariables } from '../src/train/step.js';
import type { StepHooks } from '../src/train/loop.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { gitState, machine } from '../experiments/record.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A model to time, with a retraining method's step hooks if it has any. */
export interface TimedModel {
  model: tf.LayersModel;
  hooks?: StepHooks;
}

/**
 * Median seconds per step of each model over `steps` timed steps after 3 warm-up steps. The
 * models take turns one step at a time, so a noisy machine slows them alike and their ratio
 * holds. A method's step hooks run inside its timed step as in training.
 */
export function timeTrainStepsInterleaved(entries: TimedModel[], batch: number, shape: InputShape, steps: number): number[] {
  const x = tf.randomNormal([batch, ...shape], 0, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'int32',
  );
  const runs = entries.map((e) => ({
    ...e,
    opt: new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, nesterov: false }),
    vars: trainableVariables(e.model),
    times: [] as number[],
  }));
  for (let i = 0; i < steps + 3; i++)
    for (const r of runs) {
      const t0 = performance.now();
      r.hooks?.beforeStep?.(i / 100, i);
      // A method's soft targets (pq's teacher forward) are part of its step.
      const soft = r.hooks?.targets?.(x);
      trainStep(r.model, x, y, r.opt, 0.01, r.vars, r.hooks?.gradients, soft);
      soft?.dispose();
      r.hooks?.afterStep?.(i / 100, i);
      if (i >= 3) r.times.push((performance.now() - t0) / 1000);
    }
  tf.dispose([x, y]);
  return runs.map((r) => median(r.times));
}

/** Median seconds per step of one model (see timeTrainStepsInterleaved). */
export function timeTrainSteps(model: tf.LayersModel, batch: number, shape: InputShape, steps: number, hooks?: StepHooks): number {
  return timeTrainStepsInterleaved([{ model, hooks }], batch, shape, steps)[0];
}

/** Writes a benchmark's rows as a JSON record (what docs/RESULTS.md is rendered from). */
export function writeBenchRecord(file: string, id: string, command: string, rows: unknown[]): void {
  const git = gitState();
  writeJsonAtomic(file, {
    id,
    command,
    rows,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machine(),
    finishedAt: new Date().toISOString(),
  });
}
