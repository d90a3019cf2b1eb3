// `lowbit quantize`: quantize a trained checkpoint with a method (ste, lsq, ptq), a format
// and bit widths; retrains with a checkpoint per epoch and --resume (ptq only calibrates).
import { Command, Option } from 'commander';
import { formatNames } from '../quant/registry.js';
import { methodNames, methodOf, methods, runLabel } from '../train/methods/registry.js';
import { DEFAULT_CALIBRATION_BATCHES, parseQuantizeOptions, runQuantization } from '../train/quantize.js';
import { optionOfFlag, optionsFromFlags, type QuantizeFlags } from './quantize-flags.js';
import { addMethodFlags } from './method-flags.js';
import type { Command as Cmd } from 'commander';
import { givenFlags, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt, positiveNumber, resumeSettings } from './options.js';
import { trainProgress } from './progress.js';
import { InvalidArgumentError } from 'commander';

/** Activation bits; 0 stands for float activations ('none'), as commander drops null values. */
function bitsOrNone(v: string): number {
  if (v === 'none' || v === 'fp' || v === '32') return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 8) throw new InvalidArgumentError('expected bits from 1 to 8, or none for float activations.');
  return n;
}

export function quantizeCommand(): Command {
  const cmd = new Command('quantize')
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
      '--keep-8bit <layers>',
      "layers kept at 8 bits (names, globs or /regex/, comma-separated, e.g. '*_dw'): int8 weights, unsigned int8 inputs",
      (v: string) => v.split(',').filter(Boolean),
    )
    .option(
      '--bn <mode>',
      'batch norm: keep (float, folded at deployment) or fold (into the conv before quantizing)',
      oneOf(['keep', 'fold']),
      'keep',
    )
    .option('--k <n>', 'esb: significant bits', nonNegativeInt)
    .option('--kmax <n>', 'dybit: largest region (default: fitted)', nonNegativeInt)
    .option('--refit-every <n>', 'training steps between refits of fitted weight parameters (dybit, mse calibration)', positiveInt)
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
      const label = runLabel(v);
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
      for (const line of methodOf(r.options.method).describe?.(r.methodSummary) ?? []) console.log(`  ${line}`);
      for (const p of r.plan) {
        const w = p.weight ? `${p.weight.format}${p.weight.bits}` : 'fp32',
          a = p.activation ? `${p.activation.format}${p.activation.bits}` : 'fp32';
        console.log(`  ${p.name.padEnd(14)} weights ${w.padEnd(8)} inputs ${a}`);
      }
    });
  // Each method's own flags, after the common ones: generated from its options schema (method-flags.ts).
  return addMethodFlags(cmd);
}
