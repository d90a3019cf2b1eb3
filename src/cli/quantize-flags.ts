// `lowbit quantize` flags and QuantizeOptions, both ways: the command turns its flags into options,
// and the experiment records print the command line equivalent to an experiment's options. The
// method flags come from each method's options schema (method-flags.ts), so the two directions
// cannot drift apart (a test parses every experiment's command line back through the command).
import type { QuantizeOptionsInput } from '../train/quantize.js';
import { methodNames, methodOf } from '../train/methods/registry.js';
import { methodFlags, methodFlagsFor, methodOptionsFromFlags } from './method-flags.js';
import { RUN_CONTROL_FLAGS, type RunFlags } from './options.js';
import { INT8_WEIGHTS, UINT8_ACTIVATIONS } from '../nn/quantize-model.js';

/** What commander hands the action (flags camel-cased). */
export interface QuantizeFlags extends RunFlags {
  /** Each method's own flags (--sq-stages, --no-mpq-threshold-lr, …), generated from its schema. */
  [methodFlag: string]: unknown;
  from?: string;
  method?: string;
  format?: string;
  wbits?: number;
  abits: number;
  granularity: string;
  calibration: string;
  keepEnds: boolean;
  bn: string;
  k?: number;
  kmax?: number;
  refitEvery?: number;
  aformat?: string;
  epochs?: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: string;
  calibrationBatches?: number;
  /** Layers (names, globs or /regex/, comma-separated) kept at 8-bit weights and unsigned 8-bit inputs. */
  keep8bit?: string[];
}

/** The per-layer override --keep-8bit sets: int8 weights per channel, unsigned int8 inputs (layers after a ReLU). */
const keep8bit = (match: string) => ({ match, weight: { ...INT8_WEIGHTS }, activation: { ...UINT8_ACTIVATIONS } });
const isKeep8bit = (o: { match: string; weight?: unknown; activation?: unknown }) =>
  JSON.stringify(o) === JSON.stringify(keep8bit(o.match));

/** The methods that have options of their own. */
const withOptions = () => methodNames.filter((m) => methodOf(m).options !== undefined);

export function optionsFromFlags(f: QuantizeFlags): QuantizeOptionsInput {
  const formatOptions: Record<string, unknown> = {};
  if (f.k !== undefined) formatOptions.k = f.k;
  if (f.kmax !== undefined) formatOptions.kmax = f.kmax;
  const perMethod: Record<string, unknown> = {};
  for (const m of withOptions()) {
    const o = methodOptionsFromFlags(m, f);
    // A method's options are passed when it is chosen or when one of them is given (which the validation then refuses).
    if (f.method === m || Object.keys(o).length) perMethod[m] = o;
  }
  return {
    ...(f.from !== undefined ? { from: f.from } : {}),
    ...(f.method !== undefined ? { method: f.method } : {}),
    ...(f.format !== undefined ? { format: f.format } : {}),
    ...(f.wbits !== undefined ? { wbits: f.wbits } : {}),
    abits: f.abits === 0 ? null : f.abits,
    granularity: f.granularity as 'channel',
    calibration: f.calibration as 'maxabs',
    keepEnds: f.keepEnds,
    batchNorm: f.bn as 'keep',
    formatOptions,
    ...(f.refitEvery !== undefined ? { refitEvery: f.refitEvery } : {}),
    ...(f.keep8bit?.length ? { overrides: f.keep8bit.map(keep8bit) } : {}),
    ...(f.aformat ? { activationFormat: f.aformat as 'int' } : {}),
    ...perMethod,
    ...(f.epochs !== undefined ? { epochs: f.epochs } : {}),
    batchSize: f.batchSize,
    lr: f.lr,
    momentum: f.momentum,
    weightDecay: f.weightDecay,
    schedule: f.schedule as 'cosine',
    seed: f.seed,
    ...(f.calibrationBatches !== undefined ? { calibrationBatches: f.calibrationBatches } : {}),
    ...(f.augment !== undefined ? { augment: f.augment } : {}),
    ...(f.dataDir ? { dataDir: f.dataDir } : {}),
    ...(f.limitTrain ? { limitTrain: f.limitTrain } : {}),
    ...(f.limitTest ? { limitTest: f.limitTest } : {}),
    ...(f.threads ? { threads: f.threads } : {}),
  } as QuantizeOptionsInput;
}

/** The option a flag sets (null for flags that set none): what a given flag overrides when a run resumes. */
export function optionOfFlag(flag: string): string | null {
  if (RUN_CONTROL_FLAGS.has(flag)) return null;
  const renamed: Record<string, string> = {
    bn: 'batchNorm',
    aformat: 'activationFormat',
    k: 'formatOptions',
    kmax: 'formatOptions',
    keep8bit: 'overrides',
  };
  if (renamed[flag]) return renamed[flag];
  return methodFlags().find((f) => f.attribute === flag)?.method ?? flag;
}

const value = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** The `lowbit quantize` command line that runs these options into `out`. */
export function quantizeCommandLine(o: QuantizeOptionsInput, out: string): string {
  if (o.overrides && !o.overrides.every(isKeep8bit))
    throw new Error('per-layer overrides other than --keep-8bit have no command-line flag: run them through the library');
  const parts = [
    `lowbit quantize --from ${o.from} --method ${o.method}${o.format !== undefined ? ` --format ${o.format}` : ''}${o.wbits !== undefined ? ` --wbits ${o.wbits}` : ''} --abits ${o.abits ?? 'none'}`,
  ];
  if (o.calibration) parts.push(`--calibration ${o.calibration}`);
  if (o.granularity) parts.push(`--granularity ${o.granularity}`);
  if (o.activationFormat) parts.push(`--aformat ${o.activationFormat}`);
  if (o.keepEnds === false) parts.push('--no-keep-ends');
  if (o.overrides?.length) parts.push(`--keep-8bit ${o.overrides.map((x) => x.match).join(',')}`);
  if (o.batchNorm) parts.push(`--bn ${o.batchNorm}`);
  if (o.refitEvery !== undefined) parts.push(`--refit-every ${o.refitEvery}`);
  for (const [k, v] of Object.entries(o.formatOptions ?? {})) parts.push(`--${k} ${value(v)}`);
  for (const m of withOptions()) {
    const given = (o as Record<string, unknown>)[m] as Record<string, unknown> | undefined;
    if (given) parts.push(...methodFlagsFor(m, given));
  }
  if (o.method !== 'ptq') parts.push(`--epochs ${o.epochs ?? 10} --lr ${o.lr ?? 0.01}`);
  const rest: [keyof QuantizeOptionsInput, string][] = [
    ['batchSize', '--batch-size'],
    ['momentum', '--momentum'],
    ['weightDecay', '--weight-decay'],
    ['schedule', '--schedule'],
    ['seed', '--seed'],
    ['calibrationBatches', '--calibration-batches'],
  ];
  for (const [k, flag] of rest) if (o[k] !== undefined) parts.push(`${flag} ${value(o[k])}`);
  if (o.augment !== undefined) parts.push(o.augment ? '--augment' : '--no-augment');
  parts.push(`--out ${out}`);
  return parts.join(' ');
}
