// `lowbit search --from run/ --accel bitfusion --objective latency --budgets 0.2,0.3,0.5`:
// hardware-aware mixed-precision search from a full-precision checkpoint — every budget solved
// exactly, every configuration (and the uniform W4A4 / W8A8 and random baselines) retrained with
// QAT and simulated — written to <out>/front.json, one point at a time (a rerun resumes).
import path from 'node:path';
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import { datasetNames } from '../data/datasets.js';
import { loadDataset } from '../data/load.js';
import { presetNames } from '../hw/config.js';
import { defaultCandidates } from '../search/candidates.js';
import { planSearch, runFront, type FrontPoint } from '../search/search.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { resolveCheckpoint } from '../train/quantize.js';
import { writeJsonAtomic } from '../util/atomic.js';
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
  out: string;
  planOnly?: boolean;
  json?: boolean;
}

export function searchCommand(): Command {
  return new Command('search')
    .description('hardware-aware mixed-precision search: per-layer formats and bit widths under latency, energy or size budgets')
    .requiredOption('--from <path>', 'full-precision checkpoint (.lbck) or run directory')
    .requiredOption('--out <dir>', 'directory for front.json and the retraining runs')
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
    .option('--plan-only', 'solve the budgets and print the configurations without retraining')
    .option('--json', 'print the front as JSON')
    .action(async (f: Flags) => {
      const formats = f.formats.split(',').map((s) => s.trim());
      for (const b of [...f.wbits, ...f.abits])
        if (!Number.isInteger(b) || b < 2 || b > 8) throw new Error(`--wbits/--abits: expected widths from 2 to 8, got ${b}`);
      const candidates = defaultCandidates(formats, f.wbits, f.abits);
      for (const need of ['int4/a4', 'int8/a8'])
        if (!candidates.some((c) => c.label === need))
          throw new Error(`the candidate set must include ${need} for the uniform baselines (int, 4 and 8 bits)`);
      await initEngine({ quiet: true });
      const ck = await loadCheckpoint(resolveCheckpoint(f.from));
      const name = ck.modelSpec.dataset;
      if (typeof name !== 'string' || !datasetNames.includes(name as never))
        throw new Error(`--from: ${f.from} does not say which dataset it was trained on`);
      const ds = loadDataset(name, f.dataDir ? { dataDir: f.dataDir } : {});
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
      const settings = { ...f };
      const save = (points: FrontPoint[]) =>
        writeJsonAtomic(path.join(f.out, 'front.json'), {
          settings,
          int8Cost: plan.int8Cost,
          sensitivities: plan.sensitivities,
          plan: plan.points,
          points,
        });
      if (f.planOnly) {
        save([]);
        for (const p of plan.points)
          console.log(
            `${p.kind.padEnd(13)} ${p.budget === null ? '    ' : p.budget.toFixed(2)}  cost ${(p.predictedCost / plan.int8Cost).toFixed(3)} of INT8  ${p.layers.map((l) => `${l.name}:${l.candidate}`).join(' ')}`,
          );
        return;
      }
      const points: FrontPoint[] = [];
      await runFront(
        plan,
        resolveCheckpoint(f.from),
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
        (p, i) => path.join(f.out, `${String(i).padStart(2, '0')}-${p.kind}${p.budget === null ? '' : `-${p.budget}`}`),
        ds,
        (p) => {
          points.push(p);
          save(points);
          if (!f.json)
            process.stderr.write(
              `${p.kind}${p.budget === null ? '' : ` @ ${p.budget}`}: accuracy ${(100 * p.accuracy).toFixed(2)}%, ${p.latencyMs.toFixed(3)} ms (${p.speedupVsFp32.toFixed(2)}x vs FP32, ${p.speedupVsInt8.toFixed(2)}x vs INT8)\n`,
            );
        },
      );
      if (f.json) return void console.log(JSON.stringify({ int8Cost: plan.int8Cost, points }));
      console.log(`search front on ${f.accel} (${f.objective}), written to ${path.join(f.out, 'front.json')}`);
      for (const p of points)
        console.log(
          `${p.kind.padEnd(13)} ${p.budget === null ? '    ' : p.budget.toFixed(2)}  ${(100 * p.accuracy).toFixed(2)}%  ${p.latencyMs.toFixed(3)} ms  ${p.energyUj.toFixed(1)} µJ  ${(p.weightBytes / 1024).toFixed(1)} KB  ${p.speedupVsFp32.toFixed(2)}x FP32  ${p.speedupVsInt8.toFixed(2)}x INT8  ${p.layers.map((l) => `${l.name}:${l.candidate}`).join(' ')}`,
        );
    });
}
