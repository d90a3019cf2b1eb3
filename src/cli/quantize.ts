// `lowbit quantize`: quantize a trained checkpoint with a method (ste, lsq, ptq), a format
// and bit widths; retrains with a checkpoint per epoch and --resume (ptq only calibrates).
import { Command, Option } from 'commander';
import { formatNames } from '../quant/registry.js';
import { methodNames, methods } from '../train/methods/registry.js';
import { runQuantization, type QuantizeOptionsInput } from '../train/quantize.js';
import { nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber } from './options.js';
import { trainProgress } from './progress.js';
import { InvalidArgumentError } from 'commander';

/** Activation bits; 0 stands for float activations ('none'), as commander drops null values. */
function bitsOrNone(v: string): number {
  if (v === 'none' || v === 'fp' || v === '32') return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 8) throw new InvalidArgumentError('expected bits from 1 to 8, or none for float activations.');
  return n;
}

interface Flags {
  from: string;
  method: string;
  format: string;
  wbits: number;
  abits: number;
  granularity: string;
  calibration: string;
  keepEnds: boolean;
  bn: string;
  k?: number;
  kmax?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: string;
  seed: number;
  augment?: boolean;
  calibrationBatches: number;
  dataDir?: string;
  limitTrain?: number;
  limitTest?: number;
  threads?: number;
  out: string;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function quantizeCommand(): Command {
  return new Command('quantize')
    .description(`quantize a trained checkpoint: ${methodNames.map((m) => `${m} (${methods[m].summary})`).join('; ')}`)
    .requiredOption('--from <path>', 'FP checkpoint (.lbck) or run directory')
    .addOption(new Option('--method <name>', 'quantization method').choices(methodNames).makeOptionMandatory())
    .requiredOption('--out <dir>', 'run directory for the quantized model')
    .addOption(new Option('--format <name>', 'weight format').choices(formatNames).default('int'))
    .option('--wbits <n>', 'weight bits', positiveInt, 4)
    .option('--abits <n>', 'activation bits, or none', bitsOrNone, 4)
    .option('--granularity <g>', 'tensor or channel scales for weights', oneOf(['tensor', 'channel']), 'channel')
    .option('--calibration <c>', 'maxabs, percentile or mse', oneOf(['maxabs', 'percentile', 'mse']), 'maxabs')
    .option('--no-keep-ends', 'quantize the first conv and last FC like the rest (default: 8 bits)')
    .option(
      '--bn <mode>',
      'batch norm: keep (float, folded at deployment) or fold (into the conv before quantizing)',
      oneOf(['keep', 'fold']),
      'keep',
    )
    .option('--k <n>', 'esb: significant bits', nonNegativeInt)
    .option('--kmax <n>', 'dybit: largest region (default: fitted)', nonNegativeInt)
    .option('--epochs <n>', 'retraining epochs', nonNegativeInt, 10)
    .option('--batch-size <n>', 'batch size', positiveInt, 128)
    .option('--lr <x>', 'peak learning rate', positiveNumber, 0.01)
    .option('--momentum <x>', 'SGD momentum', nonNegativeNumber, 0.9)
    .option('--weight-decay <x>', 'weight decay on kernels', nonNegativeNumber, 1e-4)
    .option('--schedule <name>', 'constant or cosine', oneOf(['constant', 'cosine']), 'cosine')
    .option('--seed <n>', 'random seed', nonNegativeInt, 1)
    .option('--augment', 'force augmentation on')
    .option('--no-augment', 'force augmentation off')
    .option('--calibration-batches <n>', 'ptq: calibration batches', positiveInt, 8)
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option('--limit-train <n>', 'use the first n training images', positiveInt)
    .option('--limit-test <n>', 'use the first n test images', positiveInt)
    .option('--threads <n>', 'native threads', positiveInt)
    .option('--resume', 'continue from <out>/checkpoint.lbck if present')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .action(async (f: Flags) => {
      const formatOptions: Record<string, unknown> = {};
      if (f.k !== undefined) formatOptions.k = f.k;
      if (f.kmax !== undefined) formatOptions.kmax = f.kmax;
      const o: QuantizeOptionsInput = {
        from: f.from,
        method: f.method,
        format: f.format,
        wbits: f.wbits,
        abits: f.abits === 0 ? null : f.abits,
        granularity: f.granularity as 'channel',
        calibration: f.calibration as 'maxabs',
        keepEnds: f.keepEnds,
        batchNorm: f.bn as 'keep',
        formatOptions,
        epochs: f.epochs,
        batchSize: f.batchSize,
        lr: f.lr,
        momentum: f.momentum,
        weightDecay: f.weightDecay,
        schedule: f.schedule as 'cosine',
        seed: f.seed,
        calibrationBatches: f.calibrationBatches,
        ...(f.augment !== undefined ? { augment: f.augment } : {}),
        ...(f.dataDir ? { dataDir: f.dataDir } : {}),
        ...(f.limitTrain ? { limitTrain: f.limitTrain } : {}),
        ...(f.limitTest ? { limitTest: f.limitTest } : {}),
        ...(f.threads ? { threads: f.threads } : {}),
      };
      const label = `${f.method}${f.method === 'lsq' ? '' : ` ${f.format}`} W${f.wbits}A${f.abits || 'fp'}`;
      const r = await runQuantization(o, { outDir: f.out, resume: Boolean(f.resume), events: trainProgress(label, f.quiet) });
      if (f.json) {
        console.log(
          JSON.stringify({
            options: r.options,
            fpAccuracy: r.fpAccuracy,
            finalAccuracy: r.finalAccuracy,
            history: r.history,
            plan: r.plan,
            checkpoint: r.checkpoint,
          }),
        );
        return;
      }
      console.log(
        `${label}: test accuracy ${(100 * r.finalAccuracy).toFixed(2)}% (FP ${(100 * r.fpAccuracy).toFixed(2)}%); checkpoint ${r.checkpoint}`,
      );
      for (const p of r.plan) {
        const w = p.weight ? `${p.weight.format}${p.weight.bits}` : 'fp32',
          a = p.activation ? `${p.activation.format}${p.activation.bits}` : 'fp32';
        console.log(`  ${p.name.padEnd(14)} weights ${w.padEnd(8)} inputs ${a}`);
      }
    });
}
