// Quantizing a trained model: load the FP checkpoint, build the quantized twin with the chosen
// method, then calibrate (ptq) or retrain (ste, lsq) with a checkpoint per epoch and --resume.
// The run directory gets checkpoint.lbck (the quantized model), metrics.json and config.json.
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import { limitSplit, type Dataset } from '../data/load.js';
import { datasetOfModel } from '../data/model-data.js';
import { deriveSeed, makeRng, permutation } from '../data/rng.js';
import { quantizeModel, type LayerPlan } from '../nn/quantize-model.js';
import { calibrateModel } from '../nn/quantizers.js';
import { formatNames, formats, type FormatName } from '../quant/registry.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import {
  checkResumable,
  DivergedError,
  parseHistory,
  runEpochsAsync,
  stepsPerEpoch,
  type EpochRecord,
  type LoopControl,
  type TrainEvents,
} from './loop.js';
import { methodLayers, type QuantMethod } from './methods/method.js';
import { methodNames, methodOf, registryVersion, type MethodName, methods } from './methods/registry.js';
import { Optimizer } from './optimizer.js';
import type { Schedule } from './schedule.js';
import { seedField } from './config.js';
import { CHECKPOINT_FILE, checkSpace, openRunDir, partialNote, resolveCheckpoint } from './run-dir.js';
import { OptionError, opt } from '../util/option-error.js';

export { resolveCheckpoint } from './run-dir.js';

const bitsField = z.number().int().min(1).max(8);

/** ptq's calibration batches when --calibration-batches is not given. */
export const DEFAULT_CALIBRATION_BATCHES = 8;

/** Methods with options of their own: a key of the same name in the quantize options, from the method's schema. */
const withOptions = () => methodNames.filter((m) => methodOf(m).options !== undefined);

/** Each method's options, typed from its schema (declared in the method's own file). */
type MethodOptionShape = {
  [K in MethodName as (typeof methods)[K] extends { options: z.ZodType } ? K : never]: (typeof methods)[K] extends {
    options: infer S extends z.ZodType;
  }
    ? z.ZodOptional<S>
    : never;
};

/** The quantize options of the methods registered now (built again when one is registered at run time). */
function buildSchema() {
  const methodsWithOptions = withOptions();
  const methodOptionFields = Object.fromEntries(methodsWithOptions.map((m) => [m, methodOf(m).options!.optional()]));
  return z
    .object({
      from: z.string().min(1),
      method: z.enum(methodNames as [string, ...string[]]),
      /** Weight format: default int, or the method's own (lsq, mpq, esb); none for pq's product codes. */
      format: z.enum(formatNames as [string, ...string[]]).optional(),
      /** Weight bits: default 4, or the format's only width (binary 1, ternary 2). */
      wbits: bitsField.optional(),
      abits: bitsField.nullable(),
      granularity: z.enum(['tensor', 'channel']).default('channel'),
      calibration: z.enum(['maxabs', 'percentile', 'mse']).default('maxabs'),
      keepEnds: z.boolean().default(true),
      batchNorm: z.enum(['keep', 'fold']).default('keep'),
      formatOptions: z.record(z.string(), z.unknown()).default({}),
      /** Per-layer weight and activation specs (by name, glob or /regex/), e.g. a searched configuration. */
      overrides: z
        .array(
          z
            .object({
              match: z.string().min(1),
              weight: z.record(z.string(), z.unknown()).nullable().optional(),
              activation: z.record(z.string(), z.unknown()).nullable().optional(),
            })
            .strict(),
        )
        .max(4096)
        .optional(),
      /** Activation format family (default: dybit for dybit weights, else int). */
      activationFormat: z.enum(['int', 'dybit', 'pact']).optional(),
      /** Training steps between refits of fitted weight parameters (dybit, MSE calibration); default per format. */
      refitEvery: z.number().int().positive().max(1_000_000).optional(),
      /** Each method's own options (sq, mpq, slb, dropbits, pq, …), from the registry. */
      ...(methodOptionFields as MethodOptionShape),
      /** Retraining epochs: default 10; ptq does not retrain (0). */
      epochs: z.number().int().min(0).max(10000).optional(),
      batchSize: z
        .number()
        .int()
        .positive()
        .max(1 << 16)
        .default(128),
      evalBatchSize: z.number().int().positive().default(500),
      lr: z.number().positive().max(10).default(0.01),
      momentum: z.number().min(0).max(0.9999).default(0.9),
      weightDecay: z.number().min(0).max(1).default(1e-4),
      schedule: z.enum(['constant', 'cosine']).default('cosine'),
      seed: seedField,
      augment: z.boolean().optional(),
      /** ptq: batches of training images its ranges are calibrated on (default DEFAULT_CALIBRATION_BATCHES). */
      calibrationBatches: z.number().int().positive().max(10000).optional(),
      dataDir: z.string().min(1).optional(),
      limitTrain: z.number().int().positive().optional(),
      limitTest: z.number().int().positive().optional(),
      threads: z.number().int().positive().optional(),
    })
    .strict()
    .superRefine((o, ctx) => {
      const retrains = methodOf(o.method).retrains;
      if (retrains && o.epochs !== undefined && o.epochs < 1)
        ctx.addIssue({ code: 'custom', path: ['epochs'], message: `method ${o.method} retrains: epochs must be >= 1` });
      if (!retrains && o.epochs !== undefined && o.epochs > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['epochs'],
          message: `method ${o.method} calibrates and does not retrain; ${opt('epochs')} ${o.epochs} does not apply`,
        });
      if (retrains && o.calibrationBatches !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['calibrationBatches'],
          message: `${opt('calibrationBatches')} applies to methods that calibrate without retraining (ptq); method ${o.method} calibrates on its training batches`,
        });
      if (o.abits === null && o.activationFormat !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['activationFormat'],
          message: `${opt('activationFormat')} ${o.activationFormat} needs quantized activations; ${opt('abits')} is none`,
        });
      for (const m of methodsWithOptions)
        if ((o as Record<string, unknown>)[m] !== undefined && o.method !== m)
          ctx.addIssue({ code: 'custom', path: [m], message: `${m} options need ${opt('method')} ${m} (the method is ${o.method})` });
      const own = methodOf(o.method).weightFormats;
      if (own !== 'any' && own.length === 0) {
        // Product codes: no scalar weight format, so neither flag can mean anything.
        for (const k of ['format', 'wbits'] as const)
          if (o[k] !== undefined)
            ctx.addIssue({ code: 'custom', path: [k], message: `method ${o.method} stores product codes; --${k} ${o[k]} does not apply` });
        return;
      }
      if (o.format !== undefined && own !== 'any' && !own.includes(o.format as FormatName))
        ctx.addIssue({
          code: 'custom',
          path: ['format'],
          message: `method ${o.method} trains ${own.join('/')} weights; ${opt('format')} ${o.format} does not apply`,
        });
      const format = (o.format ?? (own === 'any' ? 'int' : own[0])) as FormatName;
      const fixed = fixedBits(format);
      if (fixed !== null && o.wbits !== undefined && o.wbits !== fixed)
        ctx.addIssue({
          code: 'custom',
          path: ['wbits'],
          message: `${opt('format')} ${format} stores ${fixed} bit${fixed === 1 ? '' : 's'} per weight; ${opt('wbits')} ${o.wbits} does not apply`,
        });
      const wbits = o.wbits ?? fixed ?? 4;
      const method = methodOf(o.method);
      for (const i of method.check?.({ wbits, options: (o as Record<string, unknown>)[o.method] }) ?? [])
        ctx.addIssue({ code: 'custom', path: [i.path], message: i.message });
    })
    .transform((o) => {
      const own = methodOf(o.method).weightFormats;
      // Product codes (pq) have no scalar weight format: both stay unset, so the resolved options re-validate.
      const epochs = o.epochs ?? (methodOf(o.method).retrains ? 10 : 0);
      if (own !== 'any' && own.length === 0) return { ...o, epochs };
      const format = (o.format ?? (own === 'any' ? 'int' : own[0])) as FormatName;
      return { ...o, epochs, format, wbits: o.wbits ?? fixedBits(format) ?? 4 };
    });
}

export const quantizeOptionsSchema = buildSchema();
let current = { version: registryVersion(), schema: quantizeOptionsSchema };

/** The one width a format stores (binary 1, ternary 2), or null when its width is a choice. */
function fixedBits(format: FormatName): number | null {
  const probe = (bits: number) => z.safeParse(formats[format].schema, { format, bits }).success;
  const widths = [1, 2, 3, 4, 5, 6, 7, 8].filter(probe);
  return widths.length === 1 ? widths[0] : null;
}

export type QuantizeOptions = z.output<typeof quantizeOptionsSchema>;
export type QuantizeOptionsInput = z.input<typeof quantizeOptionsSchema>;

export function parseQuantizeOptions(input: unknown): QuantizeOptions {
  if (current.version !== registryVersion()) current = { version: registryVersion(), schema: buildSchema() };
  const r = current.schema.safeParse(input);
  if (r.success) return r.data;
  throw new OptionError(
    `invalid quantize options: ${r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`,
  );
}

export interface QuantizeResult {
  options: QuantizeOptions;
  fpAccuracy: number;
  history: EpochRecord[];
  finalAccuracy: number;
  plan: LayerPlan[];
  model: tf.LayersModel;
  checkpoint: string;
  /** The method's report (MPQ bits per weight, SQ stages, ...), if it has one. */
  methodSummary: Record<string, unknown> | null;
  /** Quantization error of the low-bit weights at the end. */
  weightError: WeightError | null;
  /** Set when the FP checkpoint was an unfinished run, used under allowPartial: one line saying so. */
  partialInput: string | null;
}

export interface QuantizeRun {
  outDir: string;
  /** Continue outDir/checkpoint.lbck if it exists (same options, same FP checkpoint by its sha256). */
  resume?: boolean;
  /** Replace a run already in outDir. */
  force?: boolean;
  /** With resume: the epoch count may differ from the checkpoint's. */
  extendEpochs?: boolean;
  /** Accept an unfinished FP run as the starting point. */
  allowPartial?: boolean;
  events?: TrainEvents;
  dataset?: Dataset;
  /** Stop requests and work after each saved epoch (a queue worker uploads the checkpoint there). */
  control?: LoopControl;
  /**
   * Where the `from` checkpoint is on this machine when it is not at `from` itself (a queue
   * worker's verified copy): the options, and so the run's record, keep the coordinator's name.
   */
  fromFile?: string;
}

export interface WeightError {
  /** Mean squared error between the latent weights and their quantized values. */
  mse: number;
  /** The same, relative to the mean squared weight. */
  relativeMse: number;
  weights: number;
}

/** Quantization error of the low-bit layers' weights (the 8-bit ends excluded). */
export function weightError(model: tf.LayersModel, plan: LayerPlan[]): WeightError | null {
  let sq = 0,
    ref = 0,
    n = 0;
  for (const { layer } of methodLayers(model, plan)) {
    const w = layer.weights[0].read().dataSync() as Float32Array;
    const qt = layer.quantizedKernel();
    const q = qt.dataSync() as Float32Array;
    qt.dispose();
    for (let i = 0; i < w.length; i++) {
      const d = w[i] - q[i];
      sq += d * d;
      ref += w[i] * w[i];
    }
    n += w.length;
  }
  return n === 0 ? null : { mse: sq / n, relativeMse: ref > 0 ? sq / ref : 0, weights: n };
}

export async function runQuantization(input: QuantizeOptionsInput, run: QuantizeRun): Promise<QuantizeResult> {
  const parsed = parseQuantizeOptions(input);
  const engine = await initEngine(parsed.threads ? { threads: parsed.threads } : {});
  const fromFile = run.fromFile ?? resolveCheckpoint(parsed.from);
  const dir = openRunDir({
    outDir: run.outDir,
    command: 'quantize',
    from: run.fromFile ?? parsed.from,
    ...(run.resume ? { resume: true } : {}),
    ...(run.force ? { force: true } : {}),
    ...(run.extendEpochs ? { extendEpochs: true } : {}),
  });
  let failed = true;
  try {
    const r = await quantizeIn({ ...parsed, threads: engine.threads }, fromFile, run, dir.existing);
    failed = false;
    return r;
  } finally {
    dir.close(failed);
  }
}

async function quantizeIn(opts: QuantizeOptions, fromFile: string, run: QuantizeRun, existing: boolean): Promise<QuantizeResult> {
  let o = opts;
  const method = methodOf(o.method);
  const fp = await loadCheckpoint(fromFile);
  if (fp.modelSpec.quantized)
    throw new OptionError(
      `${opt('from')}: ${o.from} is already quantized (method ${String(fp.modelSpec.method)}); quantize from its full-precision checkpoint`,
    );
  const partialInput = partialNote(fromFile, fp.state, opt('from'), Boolean(run.allowPartial));
  const source = { file: fromFile, sha256: fp.sha256 };
  const ds = run.dataset ?? (await datasetOfModel(fp.modelSpec, o.from, o.dataDir ? { dataDir: o.dataDir } : {}));
  const train = limitSplit(ds.train, o.limitTrain),
    test = limitSplit(ds.test, o.limitTest);
  const fpAccuracy = evaluate(fp.model, test, ds.info, o.evalBatchSize).accuracy;
  const ckptPath = path.join(run.outDir, CHECKPOINT_FILE);
  const optimizer = new Optimizer({ kind: 'sgd', momentum: o.momentum, weightDecay: o.weightDecay, nesterov: false });
  let model: tf.LayersModel,
    plan: LayerPlan[],
    history: EpochRecord[] = [],
    resumedState: { state: unknown; arrays: Record<string, Float32Array> } | null = null;
  if (existing) {
    const ck = await loadCheckpoint(ckptPath);
    const saved = parseQuantizeOptions(ck.state.options);
    history = parseHistory(ck.state.history, ckptPath);
    checkResumable(saved, o, ckptPath, { extendEpochs: run.extendEpochs, done: history.length });
    // The same path is not the same model: the FP checkpoint must be the very file the run started from.
    const was = ck.state.source as { sha256?: unknown } | undefined;
    if (was?.sha256 !== fp.sha256)
      throw new OptionError(
        `${opt('resume')}: ${ckptPath} was quantized from a checkpoint with sha256 ${typeof was?.sha256 === 'string' ? was.sha256.slice(0, 12) : '(not recorded)'}…, ` +
          `but ${fromFile} is now ${fp.sha256.slice(0, 12)}…; start a new run`,
      );
    model = ck.model;
    plan = ck.state.plan as LayerPlan[];
    if (ck.optimizer) optimizer.importState(ck.optimizer.state);
    resumedState = { state: ck.state.methodState, arrays: ck.arrays };
  } else {
    const config = method.quantizeConfig({
      ...o,
      // pq builds no weight spec; its activation family defaults as for int weights.
      format: (o.format ?? 'int') as never,
      wbits: o.wbits ?? 8,
      formatOptions: o.formatOptions,
      activationFormat: o.activationFormat,
    });
    ({ model, plan } = await quantizeModel(fp.model, {
      ...config,
      ...(o.refitEvery !== undefined ? { refitEvery: o.refitEvery } : {}),
      ...(o.overrides ? { overrides: o.overrides } : {}),
    }));
  }
  const resumed = existing;
  // Weights, one momentum slot each, and the method's state (about as much again at most).
  checkSpace(run.outDir, model.countParams() * 4 * 3);
  const q = model;
  const schedule: Schedule = o.schedule === 'cosine' ? { kind: 'cosine' } : { kind: 'constant' };
  const lrConfig = { lr: o.lr, schedule, warmupEpochs: 0, epochs: o.epochs };
  const start = (method as QuantMethod).start;
  const methodRun =
    method.retrains && start
      ? start({
          model: q,
          plan,
          options: (o as Record<string, unknown>)[o.method],
          seed: o.seed,
          epochs: o.epochs,
          stepsPerEpoch: stepsPerEpoch(train.count, o.batchSize),
          lr: lrConfig,
          teacher: fp.model,
          sampleInputs: (n, seed) => {
            const order = permutation(train.count, makeRng(seed));
            return makeBatch(train, ds.info, order.subarray(0, Math.min(n, train.count)), normalizationTable(ds.info)).x;
          },
        })
      : null;
  if (methodRun && resumedState) methodRun.loadState(resumedState.state, resumedState.arrays);
  // Written once the method has accepted the model: a configuration it refuses leaves no run behind.
  writeJsonAtomic(path.join(run.outDir, 'config.json'), o);
  const save = (h: EpochRecord[], extra: Record<string, unknown> = {}) => {
    const ms = methodRun?.saveState();
    const summary = methodRun?.summary();
    const finished = !method.retrains || h.length >= o.epochs;
    const state = {
      options: o,
      source,
      plan,
      history: h,
      finished,
      fpAccuracy,
      ...(summary ? { methodSummary: summary } : {}),
      ...extra,
    };
    saveCheckpoint(ckptPath, {
      model: q,
      modelSpec: { ...fp.modelSpec, quantized: true, method: o.method },
      optimizer: { config: optimizer.config, state: optimizer.exportState() },
      state: ms ? { ...state, methodState: ms.state } : state,
      ...(ms ? { arrays: ms.arrays } : {}),
    });
    writeJsonAtomic(path.join(run.outDir, 'metrics.json'), state);
  };
  if (!method.retrains) {
    // Calibration batches: the first batches of a seeded shuffle of the training set, no augmentation.
    const lut = normalizationTable(ds.info);
    const order = permutation(train.count, makeRng(deriveSeed(o.seed, 'calibration')));
    const batches = Array.from(
      { length: Math.min(o.calibrationBatches ?? DEFAULT_CALIBRATION_BATCHES, Math.ceil(train.count / o.batchSize)) },
      (_, i) => order.subarray(i * o.batchSize, (i + 1) * o.batchSize),
    );
    calibrateModel(
      q,
      batches.map((idx) => makeBatch(train, ds.info, idx, lut).x),
      (x) => tf.tidy(() => void q.apply(x, { training: false })),
    );
    const acc = evaluate(q, test, ds.info, o.evalBatchSize).accuracy;
    const we = weightError(q, plan);
    save([], { finalAccuracy: acc, weightError: we });
    return {
      options: o,
      fpAccuracy,
      history: [],
      finalAccuracy: acc,
      plan,
      model: q,
      checkpoint: ckptPath,
      methodSummary: null,
      weightError: we,
      partialInput,
    };
  }
  const epochs = {
    model: q,
    train,
    test,
    info: ds.info,
    settings: {
      epochs: o.epochs,
      batchSize: o.batchSize,
      evalBatchSize: o.evalBatchSize,
      seed: o.seed,
      augment: o.augment ?? ds.info.augment,
      lr: lrConfig,
    },
    optimizer,
    history,
    resumed,
    ...(run.events ? { events: run.events } : {}),
    ...(methodRun ? { hooks: methodRun } : {}),
    save: (h: EpochRecord[]) => save(h, { finalAccuracy: h[h.length - 1].testAccuracy, weightError: weightError(q, plan) }),
  };
  try {
    await runEpochsAsync(epochs, run.control);
  } catch (e) {
    // The checkpoint of the last finished epoch stays; metrics.json says why the run stopped.
    if (e instanceof DivergedError)
      writeJsonAtomic(path.join(run.outDir, 'metrics.json'), { options: o, source, plan, history, finished: false, stopped: e.message });
    throw e;
  }
  // The FP model (the teacher of distilling methods) is done with: a process that runs many
  // retrainings (a search, a queue worker) would otherwise keep every one of them.
  if (fp.model !== q) fp.model.dispose();
  return {
    options: o,
    fpAccuracy,
    history,
    finalAccuracy: history[history.length - 1]?.testAccuracy ?? fpAccuracy,
    plan,
    model: q,
    checkpoint: ckptPath,
    methodSummary: methodRun?.summary() ?? null,
    weightError: weightError(q, plan),
    partialInput,
  };
}
