// `lowbit search --from run/ --accel bitfusion --objective latency --budgets 0.2,0.3,0.5`:
// hardware-aware mixed-precision search from a full-precision checkpoint — every budget solved
// exactly, every configuration (and the uniform W4A4 / W8A8 and random baselines) retrained with
// QAT and simulated — written to <out>/front.json, one point at a time (--resume continues it).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import { datasetOfModel } from '../data/model-data.js';
import { checkReachable, parseQueueUrl } from '../queue/redis-url.js';
import { queueViewPrinter } from './queue-view.js';
import { presetNames } from '../hw/config.js';
import { defaultCandidates } from '../search/candidates.js';
import { planSearch, runFront, type FrontPoint } from '../search/search.js';
import { loadRunCheckpoint } from '../train/load-run.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { lockDirectory } from '../util/lock.js';
import { checkWritableDir } from '../util/output.js';
import { readJsonFile } from '../util/read.js';
import { numberList, oneOf, positiveInt, positiveNumber } from './options.js';

interface Flags {
  from: string;
  accel: string;
  objective: string;
  budgets: number[];
  sensitivity: string;
  formats: string;
  wbits: number[];
  abits: number[];
  epochs: number;
  lr: number;
  batchSize: number;
  calibrationImages: number;
  dataDir?: string;
  limitTrain?: number;
  limitTest?: number;
  seed: number;
  out?: string;
  planOnly?: boolean;
  resume?: boolean;
  force?: boolean;
  allowPartial?: boolean;
  json?: boolean;
  queue?: string;
  store: string;
  threads?: number;
}

/** The settings a search's front.json records, and a resume must match (output flags aside). */
function searchSettings(f: Flags): Record<string, unknown> {
  // Where the runs happen is not part of the search: a local and a distributed run resume each other.
  const { out: _out, planOnly: _p, resume: _r, force: _f, allowPartial: _a, json: _j, queue: _q, store: _s, threads: _t, ...settings } = f;
  return settings;
}

/** The run directory of a search point: its index, kind and budget (see runDir below). */
const POINT_DIR = /^\d{2}-(searched|uniform-w4a4|uniform-w8a8|random)(-[\d.]+)?$/;

/** Refuses an existing front unless resumed (same settings, same FP checkpoint) or forced. */
function checkExistingFront(f: Flags & { out: string }, settings: Record<string, unknown>, fromSha256: string): void {
  const file = path.join(f.out, 'front.json');
  if (!existsSync(file)) return;
  if (f.force) {
    // The old search goes whole: its front and its point runs (a smaller new plan would leave some behind).
    for (const d of readdirSync(f.out))
      if (POINT_DIR.test(d) && existsSync(path.join(f.out, d, 'checkpoint.lbck'))) rmSync(path.join(f.out, d), { recursive: true });
    return void rmSync(file);
  }
  if (!f.resume) throw new Error(`--out ${f.out} already holds a search (${file}); pass --resume to continue it or --force to replace it`);
  const saved = readJsonFile(file, 'a search front') as { settings?: Record<string, unknown>; from?: { sha256?: string } };
  for (const k of new Set([...Object.keys(saved.settings ?? {}), ...Object.keys(settings)]))
    if (JSON.stringify(saved.settings?.[k]) !== JSON.stringify(settings[k]))
      throw new Error(
        `--resume: ${file} was searched with ${k}=${JSON.stringify(saved.settings?.[k]) ?? '(unset)'}, but this search has ${k}=${JSON.stringify(settings[k]) ?? '(unset)'}`,
      );
  if (saved.from?.sha256 !== fromSha256)
    throw new Error(`--resume: ${file} was searched from another checkpoint than ${f.from} holds now; start a new search`);
}

export function searchCommand(): Command {
  return new Command('search')
    .description('hardware-aware mixed-precision search: per-layer formats and bit widths under latency, energy or size budgets')
    .requiredOption('--from <path>', 'full-precision checkpoint (.lbck) or run directory')
    .option('--out <dir>', 'directory for front.json and the retraining runs (required unless --plan-only)')
    .option('--accel <name|file>', `accelerator (${presetNames.join(', ')}) or JSON config`, 'bitfusion')
    .option('--objective <o>', 'latency, energy or size', oneOf(['latency', 'energy', 'size']), 'latency')
    .option('--budgets <list>', 'budgets as fractions of the INT8 configuration', numberList, [0.2, 0.3, 0.5])
    .option('--sensitivity <s>', 'hessian (trace proxy) or measured (loss increase) for weights', oneOf(['hessian', 'measured']), 'hessian')
    .option('--formats <list>', 'weight formats of the candidates', 'int,dybit')
    .option('--wbits <list>', 'weight bit widths of the candidates', numberList, [2, 3, 4, 8])
    .option('--abits <list>', 'activation bit widths of the candidates', numberList, [4, 8])
    .option('--epochs <n>', 'QAT epochs per configuration', positiveInt, 2)
    .option('--lr <x>', 'QAT learning rate', positiveNumber, 0.01)
    .option('--batch-size <n>', 'batch size', positiveInt, 128)
    .option('--calibration-images <n>', 'images for the sensitivities', positiveInt, 256)
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option('--limit-train <n>', 'use the first n training images', positiveInt)
    .option('--limit-test <n>', 'use the first n test images', positiveInt)
    .option('--seed <n>', 'random seed', positiveInt, 1)
    .option('--plan-only', 'solve the budgets and print the configurations without retraining (writes nothing)')
    .option('--resume', 'continue the search in <out> (same settings and FP checkpoint)')
    .option('--force', 'replace a search already in <out>')
    .option('--allow-partial', 'search from an unfinished FP run (and say so)')
    .option('--json', 'print the front as JSON')
    .option('--queue <url>', 'run the retraining points on the workers of this queue (redis://host:port/db) instead of here')
    .option('--store <where>', 'with --queue: artifacts in redis, or dir:<folder shared by every machine>', 'redis')
    .option('--threads <n>', "with --queue: the thread count of the workers to use (default: this machine's cores)", positiveInt)
    .action(async (f: Flags) => {
      const formats = f.formats.split(',').map((s) => s.trim());
      for (const b of [...f.wbits, ...f.abits])
        if (!Number.isInteger(b) || b < 2 || b > 8) throw new Error(`--wbits/--abits: expected widths from 2 to 8, got ${b}`);
      const candidates = defaultCandidates(formats, f.wbits, f.abits);
      for (const need of ['int4/a4', 'int8/a8'])
        if (!candidates.some((c) => c.label === need))
          throw new Error(`the candidate set must include ${need} for the uniform baselines (int, 4 and 8 bits)`);
      if (f.resume && f.force) throw new Error('--resume and --force contradict each other (continue the search, or replace it)');
      if (f.planOnly && (f.resume || f.force)) throw new Error('--plan-only writes nothing: --resume and --force do not apply');
      if (!f.planOnly && f.out === undefined)
        throw new Error('--out is required (the directory for front.json and the retraining runs), unless --plan-only');
      // Before the sensitivities (the long part): the output must be writable and no one else's.
      const lock = f.planOnly ? null : lockDirectory(checkWritableDir(f.out!, '--out'), 'search');
      try {
        await searchIn(f);
      } finally {
        lock?.release();
      }
    });
}

async function searchIn(f: Flags): Promise<void> {
  // Before the sensitivity pass: a wrong queue address is found in seconds, not after minutes.
  if (f.queue && !f.planOnly) await checkReachable(parseQueueUrl(f.queue));
  const formats = f.formats.split(',').map((s) => s.trim());
  const candidates = defaultCandidates(formats, f.wbits, f.abits);
  await initEngine({ quiet: true });
  const { ck, file: fromFile, partial } = await loadRunCheckpoint(f.from, '--from', Boolean(f.allowPartial));
  if (partial) process.stderr.write(`note: ${partial}\n`);
  const settings = searchSettings(f);
  if (!f.planOnly) checkExistingFront(f as Flags & { out: string }, settings, ck.sha256);
  const ds = await datasetOfModel(ck.modelSpec, f.from, f.dataDir ? { dataDir: f.dataDir } : {});
  const t0 = performance.now();
  const plan = await planSearch(ck.model, ds, {
    accel: f.accel,
    objective: f.objective as 'latency',
    budgets: f.budgets,
    candidates,
    sensitivity: f.sensitivity as 'hessian',
    calibrationImages: f.calibrationImages,
    seed: f.seed,
    atW4A4: true,
  });
  // Wall times of the sensitivity pass and of each point (a resumed point counts this run's part).
  const timings = { planSeconds: (performance.now() - t0) / 1000, pointSeconds: [] as (number | null)[] };
  const save = (points: FrontPoint[]) =>
    writeJsonAtomic(path.join(f.out!, 'front.json'), {
      settings,
      from: { file: fromFile, sha256: ck.sha256 },
      complete: points.length === plan.points.length,
      ...(partial ? { partialInput: partial } : {}),
      int8Cost: plan.int8Cost,
      sensitivities: plan.sensitivities,
      plan: plan.points,
      points,
      timings,
    });
  if (f.planOnly) {
    for (const p of plan.points)
      console.log(
        `${p.kind.padEnd(13)} ${p.budget === null ? '    ' : p.budget.toFixed(2)}  cost ${(p.predictedCost / plan.int8Cost).toFixed(3)} of INT8  ${p.layers.map((l) => `${l.name}:${l.candidate}`).join(' ')}`,
      );
    return;
  }
  const byIndex: FrontPoint[] = [];
  const points: FrontPoint[] = [];
  // Written first: the folder is a search from its first epoch on, and a rerun needs --resume or --force.
  save(points);
  const engine = await initEngine({ quiet: true });
  const queue = f.queue
    ? {
        target: { address: parseQueueUrl(f.queue), threads: f.threads ?? engine.threads, store: f.store },
        onView: queueViewPrinter(Boolean(f.json)),
      }
    : undefined;
  await runFront(
    plan,
    fromFile,
    f.accel,
    {
      epochs: f.epochs,
      lr: f.lr,
      batchSize: f.batchSize,
      seed: f.seed,
      ...(f.dataDir ? { dataDir: f.dataDir } : {}),
      ...(f.limitTrain ? { limitTrain: f.limitTrain } : {}),
      ...(f.limitTest ? { limitTest: f.limitTest } : {}),
    },
    (p, i) => path.join(f.out!, `${String(i).padStart(2, '0')}-${p.kind}${p.budget === null ? '' : `-${p.budget}`}`),
    ds,
    (p, i, seconds) => {
      timings.pointSeconds[i] = seconds;
      // In plan order, as a local search writes them, whatever order the queue finishes them in.
      byIndex[i] = p;
      points.splice(0, points.length, ...byIndex.filter(Boolean));
      save(points);
      if (!f.json)
        process.stderr.write(
          `${p.kind}${p.budget === null ? '' : ` @ ${p.budget}`}: accuracy ${(100 * p.accuracy).toFixed(2)}%, ${p.latencyMs.toFixed(3)} ms ` +
            `(${p.speedupVsFp32.toFixed(2)}x vs FP32, ${p.speedupVsInt8.toFixed(2)}x vs INT8)\n`,
        );
    },
    { ...(f.resume ? { resume: true } : {}), ...(f.force ? { force: true } : {}), ...(f.allowPartial ? { allowPartial: true } : {}) },
    queue,
  );
  if (f.json) return void console.log(JSON.stringify({ int8Cost: plan.int8Cost, points }));
  console.log(`search front on ${f.accel} (${f.objective}), written to ${path.join(f.out!, 'front.json')}`);
  for (const p of points)
    console.log(
      [
        p.kind.padEnd(13),
        p.budget === null ? '    ' : p.budget.toFixed(2),
        ` ${(100 * p.accuracy).toFixed(2)}%`,
        ` ${p.latencyMs.toFixed(3)} ms`,
        ` ${p.energyUj.toFixed(1)} µJ`,
        ` ${(p.weightBytes / 1024).toFixed(1)} KB`,
        ` ${p.speedupVsFp32.toFixed(2)}x FP32`,
        ` ${p.speedupVsInt8.toFixed(2)}x INT8`,
        ` ${p.layers.map((l) => `${l.name}:${l.candidate}`).join(' ')}`,
      ].join(' '),
    );
}
