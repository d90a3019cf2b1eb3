// Renders docs/RESULTS.md from the run records in results/ (never by hand).
// Usage: node dist/experiments/render.js
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic.js';
import { cliFor, experiments, type Experiment } from './registry.js';
import { parseQuantizeOptions } from '../src/train/quantize.js';
import { readRecords, type RunRecord } from './record.js';
import type { Reproduction } from './reproduce.js';
import { commit, minutes, pct, points } from './render-util.js';
import { noteVerdict, resetCollectors, takeDetails, takeVerdicts } from './verdicts.js';
import { renderSeedMethods } from './render-seed.js';
import { renderSearch } from './render-search.js';
import { renderDeploy } from './render-deploy.js';
import { renderRelatedMethods } from './render-related.js';
import { prose } from './prose.js';

const md = prose('render');

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

/** The slots every benchmark paragraph fills: its command, machine, commit and date. */
function benchSlots(b: { command: string; machine: RunRecord['machine']; gitCommit: string; gitDirty: boolean; finishedAt: string }) {
  return {
    command: b.command,
    cpu: b.machine.cpu,
    cores: b.machine.cores,
    engine: b.machine.engine,
    b: commit(b),
    value: b.finishedAt.slice(0, 10),
  };
}

function renderBench(b: BenchRecord | null): string[] {
  const lines = ['## Training speed', ''];
  if (!b) return [...lines, 'Not measured yet: `npm run bench -- --record results/bench-train-step.json`.', ''];
  lines.push(
    md('median-seconds-per-sgd-momentum', { threads: b.rows[0]?.threads ?? '?', ...benchSlots(b) }),
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
    md('median-seconds-per-training-step', benchSlots(b)),
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
    "Δ is the change in test accuracy against that FP checkpoint, measured in the same run; † marks a run of uncommitted code, and every row's commit is in [results/provenance.md](results/provenance.md).",
    '',
    '| experiment | method | weights / activations | epochs | test accuracy | FP | Δ (points) | target | wall time |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const e of experiments) {
    if (e.group !== 'quant' || (e.table ?? 'baselines') !== 'baselines') continue;
    const o = e.options;
    const wa = `${o.method === 'lsq' ? 'lsq' : (o.format ?? 'int')} W${o.wbits} / ${o.method === 'lsq' ? 'pact' : 'int'} A${o.abits ?? 'fp'}`;
    const target = e.maxDrop !== undefined ? `≥ −${e.maxDrop}` : '';
    const r = records.get(e.id);
    if (!r || r.fpAccuracy === undefined) {
      lines.push(`| ${e.id} | ${o.method} | ${wa} | ${o.method === 'ptq' ? 0 : (o.epochs ?? 10)} | not run yet | | | ${target} | |`);
      continue;
    }
    const delta = 100 * (r.final.testAccuracy - r.fpAccuracy);
    const met = e.maxDrop === undefined ? '' : delta >= -e.maxDrop ? ' ✓' : ' ✗';
    lines.push(
      md('table-row', {
        rId: `${r.id}${r.gitDirty ? ' †' : ''}`,
        method: o.method,
        wa,
        historyLength: r.history.length,
        testAccuracy: pct(r.final.testAccuracy),
        fpAccuracy: pct(r.fpAccuracy),
        value: delta >= 0 ? '+' : '',
        delta: delta.toFixed(2),
        target,
        met,
        wallSeconds: minutes(r.wallSeconds),
      }),
    );
  }
  // A missed target is explained next to the table, with the rows that show why.
  const int2 = records.get('fp-fashion-vgg9.ste-int-w2a2'),
    lsq2 = records.get('fp-fashion-vgg9.lsq-w2a2');
  if (int2?.fpAccuracy !== undefined && lsq2?.fpAccuracy !== undefined && int2.final.testAccuracy - int2.fpAccuracy < -0.025)
    lines.push(
      '',
      md('the-plain-int-w2a2-row', { testAccuracy: pct(int2.final.testAccuracy), testAccuracy2: pct(lsq2.final.testAccuracy) }),
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
      md('recorded-at-at-it-gives', {
        rId: r.id,
        record: commit(r.record),
        testAccuracy: pct(r.record.testAccuracy),
        r: commit(r),
        accuracy: pct(r.accuracy),
        value: same
          ? `all ${r.tensors} weight tensors are identical bit for bit, so the committed checkpoint is what this code gives`
          : md('of-weight-tensors-are-identical', {
              identicalTensors: r.identicalTensors,
              tensors: r.tensors,
              maxAbsDifference: r.maxAbsDifference.toExponential(2),
            }),
        cpu: r.machine.cpu,
        wallSeconds: minutes(r.wallSeconds),
        value2: r.finishedAt.slice(0, 10),
      }),
    );
  }
  return lines;
}

/** The records made from uncommitted code, named up front: their numbers are real runs of code that git does not hold. */
function dirtyNote(records: Map<string, RunRecord>): string[] {
  const dirty = experiments.filter((e) => records.get(e.id)?.gitDirty).map((e) => e.id);
  if (dirty.length === 0) return [];
  return [
    md('of-records-were-made-from', { dirtyLength: dirty.length, size: records.size, value: dirty.map((d) => `\`${d}\``).join(', ') }),
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
      md('equivalent-to-seed-cores-node', {
        rId: r.id,
        title: r.title,
        command: r.command,
        e: equivalentCommand(e, r),
        seed: r.seed,
        cpu: r.machine.cpu,
        cores: r.machine.cores,
        engine: r.machine.engine,
        node: r.machine.node,
        r: commit(r),
        value: r.finishedAt.slice(0, 10),
      }),
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

/** The one-screen summary that opens RESULTS: every comparison with a target, its chance difference and its verdict. */
function verdictSummary(): string[] {
  const vs = takeVerdicts();
  if (vs.length === 0) return [];
  return [
    '## Verdicts at a glance',
    '',
    md('verdicts-intro', { met: vs.filter((v) => v.met).length, total: vs.length }),
    '',
    '| base | experiment | result | against | measured | chance | target | verdict |',
    '|---|---|---|---|---|---|---|---|',
    ...vs.map((v) => {
      const dot = v.id.indexOf('.');
      const [base, what] = dot < 0 ? ['', v.id] : [v.id.slice(0, dot), v.id.slice(dot + 1)];
      return `| ${base} | ${what} | ${v.result} | ${v.against} | ${v.measured} | ${v.noise} | ${v.target} | ${v.met ? '✓' : '✗'} |`;
    }),
    '',
  ];
}

/** The appendix of evidence behind the verdicts (curves, ablations, per-layer detail), gathered while RESULTS rendered. */
export function renderDetails(): string {
  return [
    '# lowbit results: the evidence behind the verdicts',
    '',
    '<!-- Generated by `npm run results` (experiments/render.ts) from results/*.json. Do not edit by hand. -->',
    '',
    md('details-intro'),
    ...takeDetails(),
    '',
  ].join('\n');
}

export function renderResults(records: Map<string, RunRecord>, bench: BenchRecord | null): string {
  resetCollectors();
  const head: string[] = [
    '# lowbit results',
    '',
    '<!-- Generated by `npm run results` (experiments/render.ts) from results/*.json. Do not edit by hand. -->',
    '',
    'Every row comes from a real run recorded in `results/<id>.json` (configuration, seed, per-epoch',
    'metrics, wall time, git commit, machine). A missing row is run with `node dist/experiments/run.js <id>`',
    '(or `--missing` for all of them); interrupted runs resume from `runs/<id>/`.',
    '',
    ...dirtyNote(records),
  ];
  const lines: string[] = [
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
      md('table-row-2', {
        rId: r.id,
        model: r.config.model,
        data: r.config.data,
        historyLength: r.history.length,
        testAccuracy: pct(r.final.testAccuracy),
        bestTestAccuracy: pct(r.final.bestTestAccuracy),
        met,
        wallSeconds: minutes(r.wallSeconds),
        ips: Math.round(ips),
        r: commit(r),
      }),
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
  // The sections above noted their verdicts; the summary of them opens the document.
  return [...head, ...verdictSummary(), ...lines].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('experiments', 'render.js'))) {
  const records = readRecords();
  writeFileAtomic(path.join(root, 'docs', 'RESULTS.md'), renderResults(records, readBench()));
  writeFileAtomic(path.join(root, 'docs', 'results', 'details.md'), renderDetails());
  writeFileAtomic(path.join(root, 'docs', 'results', 'provenance.md'), renderProvenance(records));
  console.log('wrote docs/RESULTS.md, docs/results/details.md and docs/results/provenance.md');
}
