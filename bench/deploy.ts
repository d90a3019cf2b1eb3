// The trained quantized models of the experiments (runs/<id>/), packed and run with the integer
// runtime on their full test sets: packed size and bits per weight, runtime accuracy, and
// agreement with the training simulation (same top-1, logits within one output step; see
// src/deploy/runtime/agreement.ts). Prints one JSON row per run; runs that are not on this
// machine are skipped and said so.
// Usage: node dist/bench/deploy.js [--runs id,id,...] [--limit n] [--record results/bench-deploy.json]
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
const defaultRuns = [
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

async function main(): Promise<void> {
  const o = new Command()
    .option('--runs <list>', 'run ids under runs/', defaultRuns.join(','))
    .option('--limit <n>', 'first n test images')
    .option('--record <file>', 'write a JSON record')
    .parse()
    .opts<{ runs: string; limit?: string; record?: string }>();
  await initEngine({ quiet: true });
  const rows: Record<string, unknown>[] = [];
  for (const id of o.runs.split(',')) {
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
  if (o.record) writeBenchRecord(o.record, 'bench-deploy', `node dist/bench/deploy.js --record ${o.record}`, rows);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
