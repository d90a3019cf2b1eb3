// Runs experiments by id (or every one without a record with --missing, or every one whose record
// was made from uncommitted code with --dirty) and writes results/<id>.json. Interrupted runs
// resume from runs/<id>/; a finished run there is never recorded again (its record would claim
// today's commit for yesterday's code): --force runs it again from scratch.
// Usage: node dist/experiments/run.js <id ...> | --missing [id-prefix] | --dirty [id-prefix] | --list  [--force]
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { runStage } from '../src/pipeline/stage.js';
import { trainProgress } from '../src/cli/progress.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { cliFor, experiments, findExperiment, type Experiment } from './registry.js';
import { gitState, machine, readRecords, type RunRecord } from './record.js';
import { runStatus } from '../src/train/run-dir.js';
import { readCheckpointRaw } from '../src/train/checkpoint-format.js';

const root = process.cwd();
export const resultsDir = path.join(root, 'results');
export const checkpointsDir = path.join(root, 'checkpoints');

function baseRecord(
  e: Experiment,
  git: { commit: string; dirty: boolean },
  config: Record<string, unknown>,
  seed: number,
  history: Record<string, number>[],
) {
  const accs = history.map((h) => h.testAccuracy);
  return {
    id: e.id,
    title: e.title,
    command: `node dist/experiments/run.js ${e.id}`,
    cli: cliFor(e, `runs/${e.id}`),
    config,
    seed,
    history,
    ...(e.target !== undefined ? { target: e.target } : {}),
    wallSeconds: history.reduce((s, h) => s + h.seconds, 0),
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machine(),
    finishedAt: new Date().toISOString(),
    final: { testAccuracy: accs[accs.length - 1] ?? 0, bestTestAccuracy: accs.length ? Math.max(...accs) : 0 },
  };
}

/** A search front: plan from the FP checkpoint, retrain and simulate every point (resumable per point). */
async function runSearch(e: Extract<Experiment, { group: 'search' }>): Promise<void> {
  const git = gitState();
  const t0 = performance.now();
  const from = path.join(checkpointsDir, `${e.base}.lbck`);
  const s = e.settings;
  const runDir = path.join(root, 'runs', e.id);
  const r = await runStage(
    {
      kind: 'search',
      from,
      settings: { accel: s.accel, objective: s.objective, budgets: s.budgets, sensitivity: s.sensitivity ?? 'hessian', atW4A4: true },
      retrain: { epochs: s.epochs, lr: s.lr, batchSize: s.batchSize ?? 128, seed: 1 },
    },
    {
      outDir: runDir,
      // Points are resumed one by one (a search is hours); --force starts every point over.
      ...(force ? { force: true } : { resume: true }),
      // The point directories of the records made so far (budgets written with three decimals).
      pointDir: (p, i) => path.join(runDir, `${String(i).padStart(2, '0')}-${p.kind}${p.budget === null ? '' : `-${p.budget.toFixed(3)}`}`),
      onPoint: (p) =>
        process.stderr.write(
          `${e.id}: ${p.kind}${p.budget === null ? '' : ` @ ${p.budget.toFixed(3)}`} -> ${(100 * p.accuracy).toFixed(2)}%\n`,
        ),
    },
  );
  const { plan, front } = r;
  const best = Math.max(...front.map((p) => p.accuracy));
  writeJsonAtomic(path.join(resultsDir, `${e.id}.json`), {
    id: e.id,
    title: e.title,
    group: 'search',
    command: `node dist/experiments/run.js ${e.id}`,
    cli: cliFor(e, `runs/${e.id}`),
    config: s,
    seed: 1,
    history: [],
    final: { testAccuracy: best, bestTestAccuracy: best },
    int8Cost: plan.int8Cost,
    sensitivities: plan.sensitivities,
    front,
    wallSeconds: (performance.now() - t0) / 1000,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machine(),
    finishedAt: new Date().toISOString(),
  });
  process.stderr.write(`${e.id}: ${front.length} points in ${((performance.now() - t0) / 60000).toFixed(1)} min -> results/${e.id}.json\n`);
}

/** --force: every run starts over. */
let force = false;

/**
 * Resume an interrupted run; refuse to record a finished one again (the record would name the
 * commit of today for a run made by the code of then), unless --force runs it again.
 */
function continueOrForce(runDir: string): { resume: true } | { force: true } {
  if (force) return { force: true };
  const ck = path.join(runDir, 'checkpoint.lbck');
  if (existsSync(ck) && runStatus(readCheckpointRaw(ck).header.state).finished)
    throw new Error(`${runDir} holds a finished run; pass --force to run it again from scratch`);
  return { resume: true };
}

async function runOne(e: Experiment): Promise<void> {
  if (e.group === 'search') return runSearch(e);
  const runDir = path.join(root, 'runs', e.id);
  const git = gitState(); // the code the run starts with
  let record: RunRecord;
  if (e.group === 'quant') {
    const t0 = performance.now();
    const stage = await runStage(
      { kind: 'quantize', options: e.options },
      { outDir: runDir, ...continueOrForce(runDir), events: trainProgress(e.id) },
    );
    const r = stage.result;
    const history = r.history as unknown as Record<string, number>[];
    record = {
      ...baseRecord(e, git, r.options as unknown as Record<string, unknown>, r.options.seed, history),
      final: { testAccuracy: r.finalAccuracy, bestTestAccuracy: Math.max(r.finalAccuracy, ...history.map((h) => h.testAccuracy)) },
      fpAccuracy: r.fpAccuracy,
      plan: r.plan,
      ...(r.methodSummary ? { methodSummary: r.methodSummary } : {}),
      ...(r.weightError ? { weightError: r.weightError } : {}),
    };
    // PTQ has no epochs: its wall time is the calibration and evaluation.
    if (history.length === 0) record.wallSeconds = (performance.now() - t0) / 1000;
  } else {
    const stage = await runStage(
      { kind: 'train', config: e.config },
      { outDir: runDir, ...continueOrForce(runDir), events: trainProgress(e.id) },
    );
    const r = stage.result;
    record = baseRecord(
      e,
      git,
      r.config as unknown as Record<string, unknown>,
      r.config.seed,
      r.history as unknown as Record<string, number>[],
    );
    if (e.keepCheckpoint) {
      // Weights only (no optimizer state): what later experiments start from, small enough to commit.
      const ck = await loadCheckpoint(r.checkpoint);
      mkdirSync(checkpointsDir, { recursive: true });
      saveCheckpoint(path.join(checkpointsDir, `${e.id}.lbck`), {
        model: ck.model,
        modelSpec: ck.modelSpec,
        state: { config: r.config, history: r.history },
      });
    }
  }
  writeJsonAtomic(path.join(resultsDir, `${e.id}.json`), record);
  process.stderr.write(
    `${e.id}: test accuracy ${(100 * record.final.testAccuracy).toFixed(2)}% in ${(record.wallSeconds / 60).toFixed(1)} min -> results/${e.id}.json\n`,
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 0 || args.includes('--help')) {
    console.log('usage: node dist/experiments/run.js <id ...> | --missing [prefix] | --dirty [prefix] | --list  [--force]');
    return;
  }
  force = args.includes('--force');
  const records = readRecords();
  if (args.includes('--list')) {
    for (const e of experiments) {
      const r = records.get(e.id);
      console.log(`${e.id}\t${r ? (r.gitDirty ? 'done (uncommitted code)' : 'done') : 'missing'}\t${e.title}`);
    }
    return;
  }
  // --missing runs what has no record yet, --dirty what was recorded from uncommitted code; both
  // optionally only ids starting with a prefix (--missing fp-mnist).
  const prefix = args.find((a) => !a.startsWith('--'));
  const pick = (keep: (e: Experiment) => boolean) => experiments.filter((e) => keep(e) && (!prefix || e.id.startsWith(prefix)));
  const list = args.includes('--missing')
    ? pick((e) => !records.has(e.id))
    : args.includes('--dirty')
      ? pick((e) => records.get(e.id)?.gitDirty === true)
      : args.filter((a) => !a.startsWith('--')).map(findExperiment);
  if (args.includes('--dirty') && !force) {
    for (const e of list) console.log(e.id);
    console.log(`${list.length} records were made from uncommitted code; add --force to run them again from scratch`);
    return;
  }
  for (const e of list)
    if (e.group !== 'fp' && !existsSync(path.join(root, 'checkpoints', `${e.base}.lbck`)))
      throw new Error(`${e.id} starts from checkpoints/${e.base}.lbck, which does not exist yet: run ${e.base} first`);
  // One at a time: two trainings on this 2-core machine would only slow each other down.
  for (const e of list) await runOne(e);
}

main().catch((e: Error) => {
  process.stderr.write(`experiments: ${e.message}\n`);
  process.exit(1);
});
