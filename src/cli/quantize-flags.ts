// `lowbit quantize` flags and QuantizeOptions, both ways: the command turns its flags into options,
// and the experiment records print the command line equivalent to an experiment's options. The
// method flags are declared once here, so the two directions cannot drift apart (a test parses
// every experiment's command line back through the command).
import type { QuantizeOptionsInput } from '../train/quantize.js';
import { definedOnly, RUN_CONTROL_FLAGS, type RunFlags } from './options.js';

/** What commander hands the action (flags camel-cased). */
export interface QuantizeFlags extends RunFlags {
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
  sqStages?: number[];
  sqPartition?: string;
  sqProbability?: string;
  sqSelection?: string;
  sqRestart: boolean;
  mpqTau?: number;
  mpqBudget?: number;
  mpqGrantAt?: number;
  mpqMomentum?: number;
  mpqDelta?: number;
  mpqBeta?: number;
  mpqThresholdLr: boolean;
  slbTStart?: number;
  slbTEnd?: number;
  slbLr?: number;
  dropbitsMinBits?: number;
  dropbitsLearn: boolean;
  dropbitsRate?: number;
  dropbitsLambda?: number;
  dropbitsKappa?: number;
  pqK?: number;
  pqConvChannels?: number;
  pqFcBlock?: number;
  pqLayerSteps?: number;
  pqIterations?: number;
  pqDistill: boolean;
  epochs?: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: string;
  calibrationBatches?: number;
}

type MethodWithOptions = 'sq' | 'mpq' | 'slb' | 'dropbits' | 'pq';

/** Each method option and the flag (camel-cased) that sets it. */
const METHOD_FLAGS: Record<MethodWithOptions, Record<string, keyof QuantizeFlags>> = {
  sq: { stages: 'sqStages', partition: 'sqPartition', probability: 'sqProbability', selection: 'sqSelection' },
  mpq: { tau: 'mpqTau', budget: 'mpqBudget', grantAt: 'mpqGrantAt', momentum: 'mpqMomentum', delta: 'mpqDelta', beta: 'mpqBeta' },
  slb: { tStart: 'slbTStart', tEnd: 'slbTEnd', logitLr: 'slbLr' },
  dropbits: { minBits: 'dropbitsMinBits', dropRate: 'dropbitsRate', lambda: 'dropbitsLambda', kappa: 'dropbitsKappa' },
  pq: { k: 'pqK', convChannels: 'pqConvChannels', fcBlock: 'pqFcBlock', layerSteps: 'pqLayerSteps', iterations: 'pqIterations' },
};

/** Options a `--no-…` flag sets to a fixed value (the feature turned off). */
const SWITCHES: Partial<Record<MethodWithOptions, { key: string; off: unknown; flag: keyof QuantizeFlags }>> = {
  sq: { key: 'restartLr', off: false, flag: 'sqRestart' },
  mpq: { key: 'beta', off: 1, flag: 'mpqThresholdLr' }, // gradient scale 1: no threshold-aware learning rate
  dropbits: { key: 'learnRates', off: false, flag: 'dropbitsLearn' },
  pq: { key: 'distill', off: false, flag: 'pqDistill' },
};

const kebab = (camel: string) => `--${camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** The `--no-…` flag that commander reads into the boolean `flag`. */
const negated = (flag: string) => `--no-${kebab(flag).slice(2)}`;

/** The options of one method from the flags given (an omitted flag leaves the method's default). */
function methodOptions(m: MethodWithOptions, f: QuantizeFlags): Record<string, unknown> {
  const flags = f as unknown as Record<string, unknown>;
  const o: Record<string, unknown> = definedOnly(Object.fromEntries(Object.entries(METHOD_FLAGS[m]).map(([k, flag]) => [k, flags[flag]])));
  const s = SWITCHES[m];
  if (s && flags[s.flag] === false) {
    // A plain Error, printed by main: a CommanderError raised in an action passes as already reported.
    if (o[s.key] !== undefined) throw new Error(`${negated(s.flag)} and ${kebab(METHOD_FLAGS[m][s.key])} contradict each other`);
    o[s.key] = s.off;
  }
  return o;
}

export function optionsFromFlags(f: QuantizeFlags): QuantizeOptionsInput {
  const formatOptions: Record<string, unknown> = {};
  if (f.k !== undefined) formatOptions.k = f.k;
  if (f.kmax !== undefined) formatOptions.kmax = f.kmax;
  const perMethod: Record<string, unknown> = {};
  for (const m of Object.keys(METHOD_FLAGS) as MethodWithOptions[]) {
    const o = methodOptions(m, f);
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
  const renamed: Record<string, string> = { bn: 'batchNorm', aformat: 'activationFormat', k: 'formatOptions', kmax: 'formatOptions' };
  if (renamed[flag]) return renamed[flag];
  for (const m of Object.keys(METHOD_FLAGS) as MethodWithOptions[])
    if (Object.values(METHOD_FLAGS[m]).includes(flag as keyof QuantizeFlags) || SWITCHES[m]?.flag === flag) return m;
  return flag;
}

const value = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** The `lowbit quantize` command line that runs these options into `out`. */
export function quantizeCommandLine(o: QuantizeOptionsInput, out: string): string {
  if (o.overrides) throw new Error('per-layer overrides have no command-line flag: run them through the library');
  const parts = [
    `lowbit quantize --from ${o.from} --method ${o.method}${o.format !== undefined ? ` --format ${o.format}` : ''}${o.wbits !== undefined ? ` --wbits ${o.wbits}` : ''} --abits ${o.abits ?? 'none'}`,
  ];
  if (o.calibration) parts.push(`--calibration ${o.calibration}`);
  if (o.granularity) parts.push(`--granularity ${o.granularity}`);
  if (o.activationFormat) parts.push(`--aformat ${o.activationFormat}`);
  if (o.keepEnds === false) parts.push('--no-keep-ends');
  if (o.batchNorm) parts.push(`--bn ${o.batchNorm}`);
  if (o.refitEvery !== undefined) parts.push(`--refit-every ${o.refitEvery}`);
  for (const [k, v] of Object.entries(o.formatOptions ?? {})) parts.push(`--${k} ${value(v)}`);
  for (const m of Object.keys(METHOD_FLAGS) as MethodWithOptions[]) {
    const s = SWITCHES[m];
    for (const [k, v] of Object.entries((o as Record<string, unknown>)[m] ?? {})) {
      if (s?.key === k && v === s.off) parts.push(negated(s.flag));
      else if (METHOD_FLAGS[m][k]) parts.push(`${kebab(METHOD_FLAGS[m][k])} ${value(v)}`);
      // A switch left on is the method's default: no flag says so.
      else if (s?.key === k) continue;
      else throw new Error(`${m} option '${k}' has no command-line flag`);
    }
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
