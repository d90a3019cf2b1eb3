// `lowbit train`: full-precision training of a zoo model (or fine-tuning of an imported one),
// checkpoint per epoch, --resume.
import { Command, InvalidArgumentError, Option } from 'commander';
import { modelNames } from '../models/zoo.js';
import { canonicalData } from '../data/dataset-ref.js';
import { runTraining } from '../train/train.js';
import type { TrainConfigInput } from '../train/config.js';
import {
  dataOption,
  givenFlags,
  nonNegativeInt,
  nonNegativeNumber,
  numberList,
  oneOf,
  positiveInt,
  positiveNumber,
  resumeSettings,
  RUN_CONTROL_FLAGS,
  skipBadOption,
  type RunFlags,
} from './options.js';
import { trainProgress } from './progress.js';

interface TrainFlags extends RunFlags {
  model?: string;
  data?: string;
  skipBad?: boolean;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: string;
  momentum: number;
  nesterov?: boolean;
  weightDecay: number;
  schedule: string;
  stepEpochs?: number;
  milestones?: number[];
  gamma?: number;
  warmupEpochs: number;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train a zoo model in full precision, with a checkpoint every epoch')
    .addOption(
      new Option(
        '--model <name|file>',
        `model: ${modelNames.join(', ')}, or an .onnx / tfjs model.json file to fine-tune (required unless --resume continues a run)`,
      ).argParser((v: string) => {
        if ((modelNames as string[]).includes(v) || /\.(onnx|json)$/i.test(v)) return v;
        throw new InvalidArgumentError(`expected one of ${modelNames.join(', ')}, or an .onnx / model.json file`);
      }),
    )
    .addOption(dataOption('dataset (required unless --resume continues a run)'))
    .addOption(skipBadOption())
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .requiredOption('--out <dir>', 'run directory (checkpoint.lbck, metrics.json, config.json)')
    .option('--epochs <n>', 'epochs', positiveInt, 30)
    .option('--batch-size <n>', 'batch size', positiveInt, 128)
    .option('--lr <x>', 'peak learning rate', positiveNumber, 0.05)
    .option('--optimizer <name>', 'sgd or adam', oneOf(['sgd', 'adam']), 'sgd')
    .option('--momentum <x>', 'SGD momentum', nonNegativeNumber, 0.9)
    .option('--nesterov', 'Nesterov momentum')
    .option('--weight-decay <x>', 'L2 weight decay on kernels', nonNegativeNumber, 5e-4)
    .option('--schedule <name>', 'constant, cosine, step or multistep', oneOf(['constant', 'cosine', 'step', 'multistep']), 'cosine')
    .option('--step-epochs <n>', 'step schedule: epochs between decays', positiveInt)
    .option('--milestones <list>', 'multistep schedule: epochs at which to decay, e.g. 15,25', numberList)
    .option('--gamma <x>', 'decay factor of step/multistep', positiveNumber)
    .option('--warmup-epochs <x>', 'linear warm-up epochs', nonNegativeNumber, 0)
    .option('--seed <n>', 'random seed', nonNegativeInt, 1)
    .option('--augment', 'force crop+flip augmentation on')
    .option('--no-augment', 'force augmentation off (default: on for cifar10 only)')
    .option('--limit-train <n>', 'use the first n training images', positiveInt)
    .option('--limit-test <n>', 'use the first n test images', positiveInt)
    .option('--threads <n>', 'native threads (default: all cores)', positiveInt)
    .option('--resume', 'continue the run in <out> (its settings; flags given must agree)')
    .option('--extend-epochs', 'with --resume: change the epoch count of the run')
    .option('--force', 'replace a run already in <out>')
    .option('--json', 'print the final history as JSON on stdout')
    .option('--quiet', 'no progress output')
    .action(async (f: TrainFlags, cmd: Command) => {
      let cfg: TrainConfigInput = {
        model: f.model as string,
        data: (f.data && canonicalData(f.data, { skipBad: f.skipBad })) as string,
        epochs: f.epochs,
        batchSize: f.batchSize,
        lr: f.lr,
        optimizer: f.optimizer as 'sgd' | 'adam',
        momentum: f.momentum,
        weightDecay: f.weightDecay,
        schedule: f.schedule as 'cosine',
        warmupEpochs: f.warmupEpochs,
        seed: f.seed,
      };
      if (f.dataDir) cfg.dataDir = f.dataDir;
      if (f.nesterov) cfg.nesterov = true;
      if (f.stepEpochs !== undefined) cfg.stepEpochs = f.stepEpochs;
      if (f.milestones) cfg.milestones = f.milestones;
      if (f.gamma !== undefined) cfg.gamma = f.gamma;
      if (f.augment !== undefined) cfg.augment = f.augment;
      if (f.limitTrain) cfg.limitTrain = f.limitTrain;
      if (f.limitTest) cfg.limitTest = f.limitTest;
      if (f.threads) cfg.threads = f.threads;
      if (f.resume)
        cfg = resumeSettings(f.out, 'config', cfg, givenFlags(cmd), (k) =>
          // --skip-bad is part of --data's canonical text, not a setting of its own.
          RUN_CONTROL_FLAGS.has(k) || k === 'skipBad' ? null : k,
        );
      for (const k of ['model', 'data'] as const)
        if (!cfg[k]) throw new Error(`--${k} is required (unless --resume continues a run in --out)`);
      const r = await runTraining(cfg, {
        outDir: f.out,
        resume: Boolean(f.resume),
        force: Boolean(f.force),
        extendEpochs: Boolean(f.extendEpochs),
        events: trainProgress(`train ${cfg.model} on ${cfg.data}`, f.quiet),
      });
      const last = r.history[r.history.length - 1];
      if (f.json) console.log(JSON.stringify({ config: r.config, history: r.history, checkpoint: r.checkpoint }));
      else if (last)
        console.log(`test accuracy ${(100 * last.testAccuracy).toFixed(2)}% after ${last.epoch} epochs; checkpoint ${r.checkpoint}`);
    });
}
