// `lowbit quantize`: quantize a trained checkpoint with a method (ste, lsq, ptq), a format
// and bit widths; retrains with a checkpoint per epoch and --resume (ptq only calibrates).
import { Command, Option } from 'commander';
import { formatNames } from '../quant/registry.js';
import { methodNames, methods } from '../train/methods/registry.js';
import { DEFAULT_CALIBRATION_BATCHES, parseQuantizeOptions, runQuantization } from '../train/quantize.js';
import { optionOfFlag, optionsFromFlags, type QuantizeFlags } from './quantize-flags.js';
import type { Command as Cmd } from 'commander';
import {
  givenFlags,
  nonNegativeInt,
  nonNegativeNumber,
  numberList,
  oneOf,
  positiveInt,
  positiveNumber,
  resumeSettings,
} from './options.js';
import { trainProgress } from './progress.js';
import { DEFAULT_TAU } from '../train/methods/mpq.js';
import { probabilityFunctions } from '../train/methods/sq-select.js';
import { InvalidArgumentError } from 'commander';

/** Activation bits; 0 stands for float activations ('none'), as commander drops null values. */
function bitsOrNone(v: string): number {
  if (v === 'none' || v === 'fp' || v === '32') return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 8) throw new InvalidArgumentError('expected bits from 1 to 8, or none for float activations.');
  return n;
}

export function quantizeCommand(): Command {
  return new Command('quantize')
    .description(`quantize a trained checkpoint: ${methodNames.map((m) => `${m} (${methods[m].summary})`).join('; ')}`)
    .option('--from <path>', 'FP checkpoint (.lbck) or run directory (required unless --resume continues a run)')
    .addOption(new Option('--method <name>', 'quantization method (required unless --resume continues a run)').choices(methodNames))
    .requiredOption('--out <dir>', 'run directory for the quantized model')
    .addOption(new Option('--format <name>', "weight format (default int, or the method's own)").choices(formatNames))
    .option('--wbits <n>', "weight bits (default 4, or the format's only width)", positiveInt)
    .option('--abits <n>', 'activation bits, or none', bitsOrNone, 4)
    .option(
      '--aformat <family>',
      'activation format: int, dybit or pact (default: dybit for dybit weights, else int)',
      oneOf(['int', 'dybit', 'pact']),
    )
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
    .option('--refit-every <n>', 'training steps between refits of fitted weight parameters (dybit, mse calibration)', positiveInt)
    .option('--sq-stages <ratios>', 'sq: SQ ratio per stage, ascending to 1 (default 0.5,0.75,0.875,1)', numberList)
    .option('--sq-partition <p>', 'sq: select output channels or single weights (default channel)', oneOf(['channel', 'element']))
    .option('--sq-probability <f>', 'sq: selection weight of the error (default linear)', oneOf(probabilityFunctions))
    .option('--sq-selection <s>', 'sq: stochastic roulette or deterministic largest errors', oneOf(['stochastic', 'deterministic']))
    .option('--no-sq-restart', 'sq: one learning-rate schedule over all stages instead of a restart at each')
    .option('--mpq-tau <x>', `mpq: grant the extra bit above this switch frequency (default ${DEFAULT_TAU})`, positiveNumber)
    .option('--mpq-budget <share>', 'mpq: grant the extra bit to this share of weights, most frequent switchers first', positiveNumber)
    .option('--mpq-grant-at <share>', 'mpq: when to grant, as a share of the retraining (default 0.5)', positiveNumber)
    .option('--mpq-momentum <x>', 'mpq: EMA momentum of the switch frequency (default 0.01)', positiveNumber)
    .option('--mpq-delta <x>', 'mpq: threshold-aware LR distance, in base steps (default 0.1)', nonNegativeNumber)
    .option('--mpq-beta <x>', 'mpq: threshold-aware LR gradient scale (default 0.5)', positiveNumber)
    .option('--no-mpq-threshold-lr', 'mpq: turn the threshold-aware learning rate off')
    .option('--slb-t-start <x>', 'slb: softmax temperature at the start (default 1)', positiveNumber)
    .option('--slb-t-end <x>', 'slb: temperature at the end, reached geometrically (default 50)', positiveNumber)
    .option('--slb-lr <x>', 'slb: Adam learning rate of the per-weight logits (default 0.05)', positiveNumber)
    .option('--dropbits-min-bits <n>', 'dropbits: the fewest bits a layer can settle on (default 2)', positiveInt)
    .option('--dropbits-rate <p>', 'dropbits: drop probability of each bit above the minimum at the start (default 0.1)', positiveNumber)
    .option('--no-dropbits-learn', 'dropbits: keep the drop rates fixed (the plain DropBits regularizer; layers keep --wbits)')
    .option('--dropbits-lambda <x>', 'dropbits: regularizer weight per expected bit above the minimum (default 0.01)', nonNegativeNumber)
    .option(
      '--dropbits-kappa <x>',
      'dropbits: logistic temperature of the grid-point probabilities, in grid steps (default 1/3)',
      positiveNumber,
    )
    .option('--pq-k <n>', 'pq: centroids per layer (default 256)', positiveInt)
    .option('--pq-conv-channels <n>', 'pq: input channels per conv block, d = n·kh·kw (default 1: d = 9 for 3x3)', positiveInt)
    .option('--pq-fc-block <n>', 'pq: entries per dense block (default 4)', positiveInt)
    .option('--pq-layer-steps <n>', 'pq: distillation steps between two layers (default 100)', nonNegativeInt)
    .option('--pq-iterations <n>', 'pq: EM iterations per layer (default 20)', positiveInt)
    .option('--no-pq-distill', 'pq: fine-tune on the labels instead of distilling from the FP model')
    .option('--epochs <n>', 'retraining epochs (default 10; ptq does not retrain)', nonNegativeInt)
    .option('--batch-size <n>', 'batch size', positiveInt, 128)
    .option('--lr <x>', 'peak learning rate', positiveNumber, 0.01)
    .option('--momentum <x>', 'SGD momentum', nonNegativeNumber, 0.9)
    .option('--weight-decay <x>', 'weight decay on kernels', nonNegativeNumber, 1e-4)
    .option('--schedule <name>', 'constant or cosine', oneOf(['constant', 'cosine']), 'cosine')
    .option('--seed <n>', 'random seed', nonNegativeInt, 1)
    .option('--augment', 'force augmentation on')
    .option('--no-augment', 'force augmentation off')
    .option('--calibration-batches <n>', `ptq: calibration batches (default ${DEFAULT_CALIBRATION_BATCHES})`, positiveInt)
    .option('--data-dir <dir>', 'directory holding the dataset files')
    .option('--limit-train <n>', 'use the first n training images', positiveInt)
    .option('--limit-test <n>', 'use the first n test images', positiveInt)
    .option('--threads <n>', 'native threads', positiveInt)
    .option('--resume', 'continue the run in <out> (its settings and FP checkpoint; flags given must agree)')
    .option('--extend-epochs', 'with --resume: change the epoch count of the run')
    .option('--force', 'replace a run already in <out>')
    .option('--allow-partial', 'accept an unfinished FP run as --from (and say so)')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress output')
    .action(async (f: QuantizeFlags, cmd: Cmd) => {
      let o = optionsFromFlags(f);
      if (f.resume) o = resumeSettings(f.out, 'options', o, givenFlags(cmd), optionOfFlag);
      for (const k of ['from', 'method'] as const)
        if (!o[k]) throw new Error(`--${k} is required (unless --resume continues a run in --out)`);
      const v = parseQuantizeOptions(o);
      const label =
        v.method === 'pq'
          ? `pq A${v.abits ?? 'fp'}`
          : `${v.method}${methods[v.method as keyof typeof methods].weightFormats === 'any' ? ` ${v.format}` : ''} W${v.wbits}A${v.abits ?? 'fp'}`;
      const r = await runQuantization(o, {
        outDir: f.out,
        resume: Boolean(f.resume),
        force: Boolean(f.force),
        extendEpochs: Boolean(f.extendEpochs),
        allowPartial: Boolean(f.allowPartial),
        events: trainProgress(label, f.quiet),
      });
      if (r.partialInput) process.stderr.write(`note: ${r.partialInput}\n`);
      if (f.json) {
        console.log(
          JSON.stringify({
            options: r.options,
            fpAccuracy: r.fpAccuracy,
            finalAccuracy: r.finalAccuracy,
            history: r.history,
            plan: r.plan,
            checkpoint: r.checkpoint,
            methodSummary: r.methodSummary,
            weightError: r.weightError,
            partialInput: r.partialInput,
          }),
        );
        return;
      }
      console.log(
        `${label}: test accuracy ${(100 * r.finalAccuracy).toFixed(2)}% (FP ${(100 * r.fpAccuracy).toFixed(2)}%); checkpoint ${r.checkpoint}`,
      );
      for (const line of methods[r.options.method as keyof typeof methods].describe?.(r.methodSummary) ?? []) console.log(`  ${line}`);
      for (const p of r.plan) {
        const w = p.weight ? `${p.weight.format}${p.weight.bits}` : 'fp32',
          a = p.activation ? `${p.activation.format}${p.activation.bits}` : 'fp32';
        console.log(`  ${p.name.padEnd(14)} weights ${w.padEnd(8)} inputs ${a}`);
      }
    });
}
