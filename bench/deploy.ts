// The trained quantized models of the experiments (runs/<id>/), packed and run with the integer
// runtime on their full test sets: packed size and bits per weight, runtime accuracy, and
// agreement with the training simulation (same top-1, logits within one output step; see
// src/deploy/runtime/agreement.ts). Prints one JSON row per run; runs that are not on this
// machine are skipped and said so.
// Usage: node dist/bench/deploy.js [--set baselines|methods] [--runs id,id,...] [--limit n] [--record results/bench-deploy.json]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { initEngine } from '../src/engine/setup.js';
import { packCheckpoint } from '../src/deploy/pack-checkpoint.js';
import { loadLowbit } from '../src/deploy/runtime/model.js';
import { evaluatePacked } from '../src/deploy/runtime/evaluate.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { writeBenchRecord } from './step-timing.js';

// Integer-activation runs of every method family (float-activation rows such as BWN/TWN run
// their convolutions in float on the portable path and are left to `lowbit run`).
const baselineRuns = [
  'fp-mnist-lenet5.ptq-w8a8',
  'fp-mnist-lenet5.ste-int-w4a4',
  'fp-mnist-lenet5.lsq-w4a4',
  'fp-mnist-lenet5.lsq-w2a2',
  'fp-mnist-lenet5.mpq-w2a4-nolr',
  'fp-mnist-lenet5.fmt-dybit-w4a4',
  'fp-mnist-lenet5.fmt-po2-w4a4',
  'fp-mnist-lenet5.fmt-esb-w3a4',
  'fp-fashion-vgg9.ptq-w8a8',
  'fp-fashion-vgg9.ptq-w4a4',
  'fp-fashion-vgg9.ste-int-w4a4',
  'fp-fashion-vgg9.lsq-w4a4',
  'fp-fashion-vgg9.lsq-w2a2',
];

// The seed and related methods (issues 4 and 9): each ends in a format the packed file must carry
// as trained — MPQ's flags, DropBits' per-layer settled widths, SLB's and ESB's grids, and PQ's
// codebooks and indices (PQ runs its layers in float on decoded weights).
const methodRuns = [
  'fp-fashion-lenet5.dropbits-learn-w4a4',
  'fp-fashion-lenet5.slb-w2a4',
  'fp-mnist-lenet5.pq-large',
  'fp-fashion-vgg9.mpq-w3a4-budget',
  'fp-fashion-vgg9.dropbits-learn-w4a4',
  'fp-fashion-vgg9.dropbits-w2a4',
  'fp-fashion-vgg9.slb-w2a4',
  'fp-fashion-vgg9.fmt-esb-w3a4',
  'fp-fashion-vgg9.pq-large',
];
const sets: Record<string, string[]> = { baselines: baselineRuns, methods: methodRuns };

async function main(): Promise<void> {
  const cmd = new Command()
    .option('--set <name>', `a named list of runs: ${Object.keys(sets).join(', ')}`, 'baselines')
    .option('--runs <list>', 'run ids under runs/ (instead of --set)')
    .option('--limit <n>', 'first n test images')
    .option('--record <file>', 'write a JSON record')
    .parse();
  const o = cmd.opts<{ set: string; runs?: string; limit?: string; record?: string }>();
  const set = sets[o.set];
  if (!set) throw new Error(`--set: '${o.set}' is not a run list (expected ${Object.keys(sets).join(' or ')})`);
  if (o.runs && cmd.getOptionValueSource('set') === 'cli') throw new Error('give --set or --runs, not both');
  const ids = o.runs ? o.runs.split(',') : set;
  await initEngine({ quiet: true });
  const rows: Record<string, unknown>[] = [];
  for (const id of ids) {
    const file = path.join('runs', id, 'checkpoint.lbck');
    if (!existsSync(file)) {
      console.error(`bench: ${file} is not here; skipped (run it with node dist/experiments/run.js ${id})`);
      continue;
    }
    const ck = await loadCheckpoint(file);
    const { bytes, report } = packCheckpoint(ck);
    const t0 = performance.now();
    const model = loadLowbit(bytes);
    const loadMs = performance.now() - t0;
    const r = await evaluatePacked(model, { compare: true, batch: 64, ...(o.limit ? { limit: Number(o.limit) } : {}) });
    const v = r.vsSimulation!;
    const row = {
      run: id,
      data: r.data,
      images: r.images,
      packed_bytes: report.bytes,
      bits_per_weight: Number(report.bitsPerWeight.toFixed(3)),
      vs_fp32: Number(report.compressionVsFp32.toFixed(2)),
      load_ms: Number(loadMs.toFixed(1)),
      runtime_accuracy: r.accuracy,
      simulation_accuracy: v.simulationAccuracy,
      top1_agreement: v.top1Agreement,
      within_one_step: v.withinOneStep,
      max_steps: Number(v.maxSteps.toFixed(3)),
      images_per_s: Math.round(r.imagesPerSecond),
      kernels: r.kernels,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const how = [o.runs ? `--runs ${o.runs}` : o.set === 'baselines' ? '' : `--set ${o.set}`, o.limit ? `--limit ${o.limit}` : '']
    .filter(Boolean)
    .join(' ');
  if (o.record) writeBenchRecord(o.record, 'bench-deploy', `node dist/bench/deploy.js ${how ? how + ' ' : ''}--record ${o.record}`, rows);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
