// Renders docs/RESULTS.md from the run records in results/ (never by hand).
// Usage: node dist/experiments/render.js
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.js';
import { cliFor, experiments, type Experiment } from './registry.js';
import { parseQuantizeOptions } from '../src/train/quantize.js';
import { readRecords, type RunRecord } from './record.js';
import type { Reproduction } from './reproduce.js';
import { commit, minutes, pct } from './render-util.js';
import { renderSeedMethods } from './render-seed.js';
import { renderSearch } from './render-search.js';
import { renderDeploy } from './render-deploy.js';
import { renderRelatedMethods } from './render-related.js';

const root = process.cwd();

/**
 * The CLI command of a run: printed from the registry (whose command lines are tested to parse back
 * into the options) when the registry still holds the configuration that ran, else the line the
 * record kept (records made before a flag was printed may lack it).
 */
function equivalentCommand(e: Experiment, r: RunRecord): string {
  if (e.group !== 'quant') return r.cli;
  // A record's options as they were resolved then (threads and all); a record that today's schema
  // refuses (pq rows recorded the int/4 defaults it now refuses) keeps the line it was made with.
  const now = (o: unknown) => {
    try {
      const { threads: _t, ...rest } = parseQuantizeOptions(o);
      return JSON.stringify(rest);
    } catch {
      return null;
    }
  };
  const same = now(e.options) !== null && now(e.options) === now(r.config);
  return same ? cliFor(e, `runs/${e.id}`) : r.cli;
}

interface BenchRecord {
  command: string;
  rows: { model: string; batch: number; lowbit_s: number; torch_s: number | null; ratio: number | null; gflops: number; threads: number }[];
  gitCommit: string;
  gitDirty: boolean;
  machine: RunRecord['machine'];
  finishedAt: string;
}

function renderBench(b: BenchRecord | null): string[] {
  const lines = ['## Training speed', ''];
  if (!b) return [...lines, 'Not measured yet: `npm run bench -- --record results/bench-train-step.json`.', ''];
  lines.push(
    `Median seconds per SGD-momentum training step on synthetic data, lowbit and PyTorch (Debian python3-torch) in the same run, ${b.rows[0]?.threads ?? '?'} threads. Produced by \`${b.command}\` on ${b.machine.cpu} (${b.machine.cores} cores, ${b.machine.engine}), commit ${commit(b)}, ${b.finishedAt.slice(0, 10)}. Ratio = lowbit / PyTorch (lower is better).`,
    '',
    '| model | batch | lowbit (s) | PyTorch (s) | ratio | lowbit GFLOP/s |',
    '|---|---|---|---|---|---|',
  );
  for (const r of b.rows)
    lines.push(`| ${r.model} | ${r.batch} | ${r.lowbit_s} | ${r.torch_s ?? 'n/a'} | ${r.ratio ?? 'n/a'} | ${r.gflops} |`);
  return [...lines, ''];
}

function readBench(): BenchRecord | null {
  const f = path.join(root, 'results', 'bench-train-step.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as BenchRecord) : null;
}

interface QatBenchRecord {
  command: string;
  rows: { model: string; batch: number; quantization: string; fp_s: number; qat_s: number; ratio: number }[];
  gitCommit: string;
  gitDirty: boolean;
  machine: RunRecord['machine'];
  finishedAt: string;
}

function renderQatBench(): string[] {
  const f = path.join(root, 'results', 'bench-qat-step.json');
  const lines = ['## QAT overhead', ''];
  if (!existsSync(f)) return [...lines, 'Not measured yet: `node dist/bench/qat-step.js --record results/bench-qat-step.json`.', ''];
  const b = JSON.parse(readFileSync(f, 'utf8')) as QatBenchRecord;
  lines.push(
    `Median seconds per training step of the same model in full precision and with fake-quantized weights and activations (first conv and last FC at 8 bits), in the same run, the two taking turns step by step. Produced by \`${b.command}\` on ${b.machine.cpu} (${b.machine.cores} cores, ${b.machine.engine}), commit ${commit(b)}, ${b.finishedAt.slice(0, 10)}. Issue 3's target: vgg9 W4A4 at most 1.15x the FP step.`,
    '',
    '| model | batch | quantization | FP step (s) | QAT step (s) | ratio |',
    '|---|---|---|---|---|---|',
  );
  for (const r of b.rows) lines.push(`| ${r.model} | ${r.batch} | ${r.quantization} | ${r.fp_s} | ${r.qat_s} | ${r.ratio} |`);
  return [...lines, ''];
}

function renderQuant(records: Map<string, RunRecord>): string[] {
  const lines = [
    '',
    '## Quantization baselines (issue 3)',
    '',
    'Each row starts from the FP checkpoint of its group and quantizes weights and activations (first conv and last FC at 8 bits).',
    'Δ is the change in test accuracy against that FP checkpoint, measured in the same run.',
    '',
    '| experiment | method | weights / activations | epochs | test accuracy | FP | Δ (points) | target | wall time | commit |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const e of experiments) {
    if (e.group !== 'quant' || (e.table ?? 'baselines') !== 'baselines') continue;
    const o = e.options;
    const wa = `${o.method === 'lsq' ? 'lsq' : (o.format ?? 'int')} W${o.wbits} / ${o.method === 'lsq' ? 'pact' : 'int'} A${o.abits ?? 'fp'}`;
    const target = e.maxDrop !== undefined ? `≥ −${e.maxDrop}` : '';
    const r = records.get(e.id);
    if (!r || r.fpAccuracy === undefined) {
      lines.push(`| ${e.id} | ${o.method} | ${wa} | ${o.method === 'ptq' ? 0 : (o.epochs ?? 10)} | not run yet | | | ${target} | | |`);
      continue;
    }
    const delta = 100 * (r.final.testAccuracy - r.fpAccuracy);
    const met = e.maxDrop === undefined ? '' : delta >= -e.maxDrop ? ' ✓' : ' ✗';
    lines.push(
      `| ${r.id} | ${o.method} | ${wa} | ${r.history.length} | ${pct(r.final.testAccuracy)} | ${pct(r.fpAccuracy)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} | ${target}${met} | ${minutes(r.wallSeconds)} | ${commit(r)} |`,
    );
  }
  // A missed target is explained next to the table, with the rows that show why.
  const int2 = records.get('fp-fashion-vgg9.ste-int-w2a2'),
    lsq2 = records.get('fp-fashion-vgg9.lsq-w2a2');
  if (int2?.fpAccuracy !== undefined && lsq2?.fpAccuracy !== undefined && int2.final.testAccuracy - int2.fpAccuracy < -0.025)
    lines.push(
      '',
      `The plain int W2A2 row misses the 2.5-point target (${pct(int2.final.testAccuracy)}): a 2-bit narrow-range int grid fitted by max-abs is {−s, 0, +s} with s = max |w| of the channel, so most weights round to 0 and 2-bit activations clipped at their maximum lose most of their resolution; straight-through retraining cannot move the grid. With a learned step and a learned activation clip (LSQ + PACT, same epochs) the same widths reach ${pct(lsq2.final.testAccuracy)}, within the target. The MSE-fitted grids of the issue 4 rows (ste-int-w2a4) are the other remedy.`,
    );
  return lines;
}

/** FP baselines rerun from scratch on later code (experiments/reproduce.ts), against their committed checkpoints. */
function renderReproductions(): string[] {
  const dir = path.join(root, 'results', 'reproduce');
  if (!existsSync(dir)) return [];
  const reps = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Reproduction);
  if (reps.length === 0) return [];
  const lines = [
    '',
    'Reruns from scratch on later code (`node dist/experiments/reproduce.js <id>`), held against the committed checkpoint, which stays what every later row starts from:',
    '',
  ];
  for (const r of reps) {
    const same = r.identicalTensors === r.tensors;
    lines.push(
      `- **${r.id}** (recorded at ${commit(r.record)}: ${pct(r.record.testAccuracy)}): at ${commit(r)} it gives ${pct(r.accuracy)}; ${same ? `all ${r.tensors} weight tensors are identical bit for bit, so the committed checkpoint is what this code gives` : `${r.identicalTensors} of ${r.tensors} weight tensors are identical (largest difference ${r.maxAbsDifference.toExponential(2)}): the committed checkpoint is not what this code gives, and the rows that start from it keep the accuracy they measured of it`}. ${r.machine.cpu}, ${minutes(r.wallSeconds)}, ${r.finishedAt.slice(0, 10)}.`,
    );
  }
  return lines;
}

/** The records made from uncommitted code, named up front: their numbers are real runs of code that git does not hold. */
function dirtyNote(records: Map<string, RunRecord>): string[] {
  const dirty = experiments.filter((e) => records.get(e.id)?.gitDirty).map((e) => e.id);
  if (dirty.length === 0) return [];
  return [
    `**† ${dirty.length} of ${records.size} records were made from a commit with uncommitted changes** (marked \`+\` and † where they appear; records made before the flag ignored changes to \`docs/\` and \`results/\` may have run committed code). Their figures are real runs, but the code that made them is not exactly in git: \`node dist/experiments/run.js --dirty\` lists them and \`--dirty --force\` runs them again. They are: ${dirty.map((d) => `\`${d}\``).join(', ')}.`,
    '',
  ];
}

/** The appendix of RESULTS: per-run provenance (command, equivalent CLI, seed, machine) and per-epoch test accuracy. */
export function renderProvenance(records: Map<string, RunRecord>): string {
  const lines = [
    '# lowbit results: how each row was produced',
    '',
    '<!-- Generated by `npm run results` (experiments/render.ts) from results/*.json. Do not edit by hand. -->',
    '',
    'The appendix of [RESULTS.md](../RESULTS.md): for every recorded run, the command that reproduces it, the equivalent `lowbit` command line, its seed and machine, and its test accuracy after each epoch.',
    '',
    '## Commands, seeds and machines',
    '',
  ];
  for (const e of experiments) {
    const r = records.get(e.id);
    if (!r) continue;
    lines.push(
      `- **${r.id}** (${r.title}): \`${r.command}\`, equivalent to \`${equivalentCommand(e, r)}\`; seed ${r.seed}; ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.engine}, Node ${r.machine.node}; commit ${commit(r)}; finished ${r.finishedAt.slice(0, 10)}.`,
    );
  }
  lines.push('', '## Test accuracy per epoch', '');
  for (const e of experiments) {
    const r = records.get(e.id);
    if (!r || !r.history || r.history.length === 0) continue;
    lines.push(`- ${r.id}: ${r.history.map((h) => (100 * h.testAccuracy).toFixed(2)).join(', ')}`);
  }
  return [...lines, ''].join('\n');
}

export function renderResults(records: Map<string, RunRecord>, bench: BenchRecord | null): string {
  const lines: string[] = [
    '# lowbit results',
    '',
    '<!-- Generated by `npm run results` (experiments/render.ts) from results/*.json. Do not edit by hand. -->',
    '',
    'Every row comes from a real run recorded in `results/<id>.json` (configuration, seed, per-epoch',
    'metrics, wall time, git commit, machine). A missing row is run with `node dist/experiments/run.js <id>`',
    '(or `--missing` for all of them); interrupted runs resume from `runs/<id>/`.',
    '',
    ...dirtyNote(records),
    '## Full-precision baselines',
    '',
    'The FP checkpoints every later method starts from are kept in `checkpoints/<id>.lbck` (weights only).',
    '',
    '| experiment | model | data | epochs | test accuracy | best | target | wall time | train img/s | commit |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const e of experiments.filter((x) => x.group === 'fp')) {
    const r = records.get(e.id);
    if (!r) {
      lines.push(
        `| ${e.id} | ${e.config.model} | ${e.config.data} | ${e.config.epochs} | not run yet | | ${e.target ? `≥ ${pct(e.target)}` : ''} | | | |`,
      );
      continue;
    }
    const ips = r.history.reduce((s, h) => s + h.imagesPerSecond, 0) / r.history.length;
    const met = r.target === undefined ? '' : r.final.testAccuracy >= r.target ? ` ≥ ${pct(r.target)} ✓` : ` ≥ ${pct(r.target)} ✗`;
    lines.push(
      `| ${r.id} | ${r.config.model} | ${r.config.data} | ${r.history.length} | ${pct(r.final.testAccuracy)} | ${pct(r.final.bestTestAccuracy)} |${met} | ${minutes(r.wallSeconds)} | ${Math.round(ips)} | ${commit(r)} |`,
    );
  }
  lines.push(...renderReproductions());
  lines.push(...renderQuant(records));
  lines.push(...renderSeedMethods(records));
  lines.push(...renderRelatedMethods(records));
  lines.push(...renderSearch());
  lines.push(...renderDeploy());
  lines.push(
    '',
    '### How each row was produced',
    '',
    'The command, seed, machine and per-epoch test accuracy of every row are in the generated appendix [results/provenance.md](results/provenance.md), and each record in `results/<id>.json`.',
  );
  lines.push('', 'A `+` after the commit (and † in the tables) means tracked code had uncommitted changes when the run started.', '');
  lines.push(...renderBench(bench));
  lines.push(...renderQatBench());
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('experiments', 'render.js'))) {
  const records = readRecords();
  writeFileAtomic(path.join(root, 'docs', 'RESULTS.md'), renderResults(records, readBench()));
  writeFileAtomic(path.join(root, 'docs', 'results', 'provenance.md'), renderProvenance(records));
  console.log('wrote docs/RESULTS.md and docs/results/provenance.md');
}
