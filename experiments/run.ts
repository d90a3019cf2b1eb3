// Runs experiments by id (or every one without a record with --missing, or every one whose record
// was made from uncommitted code with --dirty) and writes results/<id>.json. Interrupted runs
// resume from runs/<id>/; a finished run there is never recorded again (its record would claim
// today's commit for yesterday's code): --force runs it again from scratch.
// With --queue redis://host:port/db the runs go to `lowbit worker`s instead (every row at once, a
// search's points as jobs of their own) and their records are written here as they finish.
// Usage: node dist/experiments/run.js <id ...> | --missing [id-prefix] | --dirty [id-prefix] | --list  [--force]
//        [--queue <url> [--store redis|dir:<shared>] [--threads N]]
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
import { runOnQueue, type QueuedRun, type QueueTarget } from '../src/queue/coordinator.js';
import { checkReachable, parseQueueUrl } from '../src/queue/redis-url.js';
import { queueViewPrinter } from '../src/cli/queue-view.js';
import { initEngine } from '../src/engine/setup.js';
import { readJsonFile } from '../src/util/read.js';

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
  const git = startGit;
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
      ...(queueTarget ? { queue: { target: queueTarget } } : {}),
    },
  );
  const { plan, front, timings } = r;
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
    timings,
    wallSeconds: (performance.now() - t0) / 1000,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    machine: machine(),
    finishedAt: new Date().toISOString(),
  });
  process.stderr.write(`${e.id}: ${front.length} points in ${((performance.now() - t0) / 60000).toFixed(1)} min -> results/${e.id}.json\n`);
}

/**
 * The code this process runs: taken once at start, since it loaded every module then. A row
 * started later must not name the commit (or the uncommitted changes) the tree has by then.
 */
const startGit = gitState();

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

/** What a quantization run's metrics.json holds (its checkpoint's state). */
interface QuantState {
  options: Record<string, unknown> & { seed: number };
  history: Record<string, number>[];
  finalAccuracy: number;
  fpAccuracy: number;
  plan: unknown[];
  methodSummary?: Record<string, unknown> | null;
  weightError?: RunRecord['weightError'] | null;
}

function quantRecord(e: Experiment, git: { commit: string; dirty: boolean }, r: QuantState, seconds: number): RunRecord {
  const record: RunRecord = {
    ...baseRecord(e, git, r.options, r.options.seed, r.history),
    final: { testAccuracy: r.finalAccuracy, bestTestAccuracy: Math.max(r.finalAccuracy, ...r.history.map((h) => h.testAccuracy)) },
    fpAccuracy: r.fpAccuracy,
    plan: r.plan,
    ...(r.methodSummary ? { methodSummary: r.methodSummary } : {}),
    ...(r.weightError ? { weightError: r.weightError } : {}),
  };
  // PTQ has no epochs: its wall time is the calibration and evaluation.
  if (r.history.length === 0) record.wallSeconds = seconds;
  return record;
}

/** An FP row's record; with keepCheckpoint its weights (no optimizer state) go to checkpoints/, small enough to commit. */
async function fpRecord(e: Experiment, git: { commit: string; dirty: boolean }, checkpoint: string): Promise<RunRecord> {
  const ck = await loadCheckpoint(checkpoint);
  const config = ck.state.config as Record<string, unknown> & { seed: number };
  const history = ck.state.history as Record<string, number>[];
  if (e.group === 'fp' && e.keepCheckpoint) {
    mkdirSync(checkpointsDir, { recursive: true });
    saveCheckpoint(path.join(checkpointsDir, `${e.id}.lbck`), { model: ck.model, modelSpec: ck.modelSpec, state: { config, history } });
  }
  ck.model.dispose();
  return baseRecord(e, git, config, config.seed, history);
}

function writeRecord(e: Experiment, record: RunRecord): void {
  writeJsonAtomic(path.join(resultsDir, `${e.id}.json`), record);
  process.stderr.write(
    `${e.id}: test accuracy ${(100 * record.final.testAccuracy).toFixed(2)}% in ${(record.wallSeconds / 60).toFixed(1)} min -> results/${e.id}.json\n`,
  );
}

async function runOne(e: Experiment): Promise<void> {
  if (e.group === 'search') return runSearch(e);
  const runDir = path.join(root, 'runs', e.id);
  const git = startGit;
  if (e.group === 'quant') {
    const t0 = performance.now();
    const { result: r } = await runStage(
      { kind: 'quantize', options: e.options },
      { outDir: runDir, ...continueOrForce(runDir), events: trainProgress(e.id) },
    );
    return writeRecord(e, quantRecord(e, git, r as unknown as QuantState, (performance.now() - t0) / 1000));
  }
  const { result: r } = await runStage(
    { kind: 'train', config: e.config },
    { outDir: runDir, ...continueOrForce(runDir), events: trainProgress(e.id) },
  );
  writeRecord(e, await fpRecord(e, git, r.checkpoint));
}

/** --queue: the job queue the runs go to. */
let queueTarget: QueueTarget | null = null;

/** Every row at once on the queue (searches plan here and send their points); records as they finish. */
async function runQueued(list: Experiment[], target: QueueTarget): Promise<void> {
  const git = startGit;
  const rows = list.filter((e): e is Exclude<Experiment, { group: 'search' }> => e.group !== 'search');
  const runs: QueuedRun[] = rows.map((e) => {
    const outDir = path.join(root, 'runs', e.id);
    continueOrForce(outDir);
    return e.group === 'quant'
      ? { kind: 'quantize', label: e.id, outDir, options: e.options, fromFile: path.resolve(root, e.options.from) }
      : { kind: 'train', label: e.id, outDir, config: e.config };
  });
  const failed: string[] = [];
  const view = queueViewPrinter();
  const batch = runOnQueue(runs, target, {
    fresh: force,
    onView: view,
    onDone: async (i, outcome) => {
      const e = rows[i];
      if (!outcome.ok) return void failed.push(`${e.id}: ${outcome.error}`);
      const dir = path.join(root, 'runs', e.id);
      const record =
        e.group === 'quant'
          ? quantRecord(e, git, readJsonFile(path.join(dir, 'metrics.json'), 'metrics') as QuantState, outcome.result.seconds)
          : await fpRecord(e, git, path.join(dir, 'checkpoint.lbck'));
      writeRecord(e, { ...record, worker: outcome.result.worker });
    },
  });
  await Promise.all([batch, ...list.filter((e) => e.group === 'search').map((e) => runSearch(e))]);
  if (failed.length) throw new Error(`${failed.length} runs failed on the queue: ${failed.join('; ')}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 0 || args.includes('--help')) {
    console.log('usage: node dist/experiments/run.js <id ...> | --missing [prefix] | --dirty [prefix] | --list  [--force]');
    return;
  }
  force = args.includes('--force');
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    args.splice(i, 2);
    return v;
  };
  const queueUrl = flag('--queue'),
    store = flag('--store'),
    threads = flag('--threads');
  if ((store || threads) && !queueUrl) throw new Error('--store and --threads go with --queue');
  if (queueUrl) {
    const n = threads === undefined ? (await initEngine({ quiet: true })).threads : Number(threads);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--threads ${threads}: expected a positive integer`);
    queueTarget = { address: parseQueueUrl(queueUrl), threads: n, store: store ?? 'redis' };
    await checkReachable(queueTarget.address);
  }
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
  if (queueTarget) return runQueued(list, queueTarget);
  // One at a time: two trainings on this 2-core machine would only slow each other down.
  for (const e of list) await runOne(e);
}

main().catch((e: Error) => {
  process.stderr.write(`experiments: ${e.message}\n`);
  process.exit(1);
});
