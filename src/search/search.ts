// Hardware-aware mixed-precision search (SPEC.md §4, the DyBit framework): per-layer candidates
// costed on the accelerator model and valued by sensitivity, the multiple-choice knapsack solved
// exactly for each budget, each chosen configuration retrained with QAT and simulated, next to
// the baselines an honest comparison needs — uniform W4A4, uniform W8A8 and a random
// configuration under the same budget. Budgets are fractions of the INT8 configuration's cost.
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import type { Dataset } from '../data/load.js';
import { deriveSeed, makeRng, permutation } from '../data/rng.js';
import { loadAccelerator, type Accelerator } from '../hw/config.js';
import { simulate } from '../hw/simulate.js';
import path from 'node:path';
import { runQuantization, type QuantizeOptionsInput, type QuantizeRun } from '../train/quantize.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { CHECKPOINT_FILE } from '../train/run-dir.js';
import { runOnQueue, type QueueTarget, type QueueView } from '../queue/coordinator.js';
import { choiceTable, defaultCandidates, sensitivityTerms, type Candidate, type LayerChoices, type Objective } from './candidates.js';
import { solveKnapsack } from './knapsack.js';

export interface SearchSettings {
  accel: string;
  objective: Objective;
  /** Fractions of the INT8 configuration's cost. */
  budgets: number[];
  candidates?: Candidate[];
  sensitivity?: 'hessian' | 'measured';
  calibrationImages?: number;
  seed?: number;
  /** Also solve at exactly the cost of uniform W4A4 (the comparison point). */
  atW4A4?: boolean;
}

export type PointKind = 'searched' | 'uniform-w4a4' | 'uniform-w8a8' | 'random';

export interface SearchPoint {
  kind: PointKind;
  /** The budget (fraction of INT8 cost) a searched or random point was solved for. */
  budget: number | null;
  /** Solved at the cost of uniform W4A4. */
  atW4A4?: boolean;
  picks: number[];
  layers: { name: string; candidate: string }[];
  /** The separable cost and value the solver saw. */
  predictedCost: number;
  predictedValue: number;
  overrides: { match: string; weight?: Record<string, unknown> | null; activation?: Record<string, unknown> | null }[];
}

export interface SearchPlan {
  table: LayerChoices[];
  int8Cost: number;
  points: SearchPoint[];
  sensitivities: { name: string; trace: number }[] | null;
}

function point(table: LayerChoices[], kind: PointKind, budget: number | null, picks: number[]): SearchPoint {
  return {
    kind,
    budget,
    picks,
    layers: table.map((t, i) => ({ name: t.name, candidate: t.candidates[picks[i]].label })),
    predictedCost: picks.reduce((a, p, i) => a + table[i].choices[p].cost, 0),
    predictedValue: picks.reduce((a, p, i) => a + table[i].choices[p].value, 0),
    overrides: table.flatMap((t, i) =>
      t.fixed
        ? []
        : [
            {
              match: t.name,
              weight: t.candidates[picks[i]].weight,
              activation: { format: 'int', bits: t.candidates[picks[i]].abits, signed: false },
            },
          ],
    ),
  };
}

/** Sensitivities, the choice table, and the configurations to retrain (searched, baselines, random). */
export async function planSearch(model: tf.LayersModel, ds: Dataset, s: SearchSettings): Promise<SearchPlan> {
  // The native kernels (idempotent): without them the Hessian probes run on stock tfjs, far too slowly.
  await initEngine();
  const accel: Accelerator = loadAccelerator(s.accel);
  const candidates = s.candidates ?? defaultCandidates();
  // Costs do not depend on the sensitivities: refuse an impossible budget before the long part.
  const costs = choiceTable(model, { weight: () => 0, activation: () => 0 }, candidates, accel, s.objective);
  const cheapest = costs.reduce((a, t) => a + Math.min(...t.choices.map((c) => c.cost)), 0);
  const int8Of = costs.reduce((a, t) => {
    const i = t.fixed ? 0 : t.candidates.findIndex((c) => c.label === 'int8/a8');
    if (i < 0) throw new Error('the candidate set has no int8/a8 (the budgets are fractions of its cost)');
    return a + t.choices[i].cost;
  }, 0);
  for (const b of s.budgets)
    if (b * int8Of < cheapest)
      throw new Error(`budget ${b} is below the cheapest configuration (${(cheapest / int8Of).toFixed(3)} of INT8)`);
  const n = Math.min(s.calibrationImages ?? 256, ds.train.count);
  const order = permutation(ds.train.count, makeRng(deriveSeed(s.seed ?? 1, 'search-calibration')));
  const { x, y } = makeBatch(ds.train, ds.info, order.subarray(0, n), normalizationTable(ds.info));
  const terms = await sensitivityTerms(model, x, y, candidates, s.sensitivity ?? 'hessian', { seed: s.seed ?? 1 });
  tf.dispose([x, y]);
  const table = choiceTable(model, terms, candidates, accel, s.objective);
  const pickOf = (label: string) =>
    table.map((t) => {
      if (t.fixed) return 0;
      const i = t.candidates.findIndex((c) => c.label === label);
      if (i < 0) throw new Error(`the candidate set has no ${label} (needed for the uniform baselines)`);
      return i;
    });
  const int8 = pickOf('int8/a8');
  const int8Cost = int8.reduce((a, p, i) => a + table[i].choices[p].cost, 0);
  const points: SearchPoint[] = [point(table, 'uniform-w8a8', null, int8), point(table, 'uniform-w4a4', null, pickOf('int4/a4'))];
  const rng = makeRng(deriveSeed(s.seed ?? 1, 'search-random'));
  const w4 = points[1];
  const budgets = [...s.budgets];
  if (s.atW4A4) budgets.push(w4.predictedCost / int8Cost);
  for (const [bi, b] of budgets.entries()) {
    if (!(b > 0)) throw new Error(`budgets must be positive fractions of the INT8 cost, got ${b}`);
    const sol = solveKnapsack(
      table.map((t) => t.choices),
      b * int8Cost,
    );
    if (!sol)
      throw new Error(
        `budget ${b} is below the cheapest configuration (${(table.reduce((a, t) => a + Math.min(...t.choices.map((c) => c.cost)), 0) / int8Cost).toFixed(3)} of INT8)`,
      );
    const searched = point(table, 'searched', b, sol.picks);
    if (bi >= s.budgets.length) searched.atW4A4 = true;
    points.push(searched);
    if (searched.atW4A4) continue;
    // A random configuration under the same budget (the first of 10 000 draws that fits).
    for (let tries = 0; tries < 10000; tries++) {
      const picks = table.map((t) => rng.int(t.choices.length));
      if (picks.reduce((a, p, i) => a + table[i].choices[p].cost, 0) <= b * int8Cost) {
        points.push(point(table, 'random', b, picks));
        break;
      }
    }
  }
  return { table, int8Cost, points, sensitivities: terms.sensitivities?.map((l) => ({ name: l.name, trace: l.trace })) ?? null };
}

export interface FrontPoint extends SearchPoint {
  accuracy: number;
  latencyMs: number;
  energyUj: number;
  weightBytes: number;
  speedupVsFp32: number;
  speedupVsInt8: number;
  energyVsFp32: number;
  runDir: string;
}

/** Where a search's retraining runs go: here, one after another, or onto a job queue's workers. */
export interface FrontQueue {
  target: QueueTarget;
  onView?(v: QueueView): void;
  /** Retrain every point again (`--force`), not reusing stored results. */
  fresh?: boolean;
}

/**
 * Retrains every planned configuration with QAT from the FP checkpoint and simulates it; `onPoint`
 * gets each point with its index in the plan. With `queue`, the runs go to the queue's workers
 * (the same runQuantization there) and come back into the same run directories.
 */
export async function runFront(
  plan: SearchPlan,
  from: string,
  accel: string,
  retrain: Omit<QuantizeOptionsInput, 'from' | 'method' | 'wbits' | 'abits' | 'overrides'>,
  runDir: (p: SearchPoint, i: number) => string,
  dataset: Dataset,
  onPoint?: (p: FrontPoint, index: number, seconds: number) => void,
  runs: Pick<QuantizeRun, 'resume' | 'force' | 'allowPartial'> = { resume: true },
  queue?: FrontQueue,
): Promise<FrontPoint[]> {
  const optionsOf = (p: SearchPoint): QuantizeOptionsInput => ({
    ...retrain,
    from,
    method: 'ste',
    format: 'int',
    wbits: 8,
    abits: 8,
    calibration: 'mse',
    overrides: p.overrides,
  });
  const frontPoint = (p: SearchPoint, model: tf.LayersModel, accuracy: number, dir: string): FrontPoint => {
    const sim = simulate(model, accel);
    return {
      ...p,
      accuracy,
      latencyMs: sim.totals.latencyMs,
      energyUj: sim.totals.energyUj,
      weightBytes: sim.totals.weightBytes,
      speedupVsFp32: sim.speedupVsFp32,
      speedupVsInt8: sim.speedupVsInt8,
      energyVsFp32: sim.energyRatioVsFp32,
      runDir: dir,
    };
  };
  const out: FrontPoint[] = [];
  if (queue) {
    const dirs = plan.points.map((p, i) => runDir(p, i));
    const failures: string[] = [];
    await runOnQueue(
      plan.points.map((p, i) => ({
        kind: 'quantize' as const,
        label: path.basename(dirs[i]),
        options: optionsOf(p),
        fromFile: from,
        outDir: dirs[i],
      })),
      queue.target,
      {
        onDone: async (i, outcome) => {
          if (!outcome.ok) return void failures.push(`${path.basename(dirs[i])}: ${outcome.error}`);
          const ck = await loadCheckpoint(path.join(dirs[i], CHECKPOINT_FILE));
          const fp = frontPoint(plan.points[i], ck.model, outcome.result.finalAccuracy, dirs[i]);
          ck.model.dispose();
          out[i] = fp;
          onPoint?.(fp, i, outcome.result.seconds);
        },
        ...(queue.onView ? { onView: queue.onView } : {}),
        ...(runs.force || queue.fresh ? { fresh: true } : {}),
      },
    );
    if (failures.length)
      throw new Error(
        `${failures.length} of ${plan.points.length} search points failed on the queue (after 3 attempts each): ${failures.join('; ')}`,
      );
    return out;
  }
  for (const [i, p] of plan.points.entries()) {
    const dir = runDir(p, i);
    const t0 = performance.now();
    const r = await runQuantization(optionsOf(p), { outDir: dir, dataset, ...runs });
    const fp = frontPoint(p, r.model, r.finalAccuracy, dir);
    out.push(fp);
    onPoint?.(fp, i, (performance.now() - t0) / 1000);
  }
  return out;
}
