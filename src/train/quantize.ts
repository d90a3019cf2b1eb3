// Quantizing a trained model: load the FP checkpoint, build the quantized twin with the chosen
// method, then calibrate (ptq) or retrain (ste, lsq) with a checkpoint per epoch and --resume.
// The run directory gets checkpoint.lbck (the quantized model), metrics.json and config.json.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../engine/tf.js';
import { initEngine } from '../engine/setup.js';
import { makeBatch, normalizationTable } from '../data/batches.js';
import { datasetNames } from '../data/datasets.js';
import { limitSplit, loadDataset, type Dataset } from '../data/load.js';
import { deriveSeed, makeRng, permutation } from '../data/rng.js';
import { quantizeModel, type LayerPlan } from '../nn/quantize-model.js';
import { calibrateModel } from '../nn/quantizers.js';
import { formatNames } from '../quant/registry.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { checkResumable, runEpochs, stepsPerEpoch, type EpochRecord, type TrainEvents } from './loop.js';
import { methodLayers, type QuantMethod } from './methods/method.js';
import { mpqOptionsSchema } from './methods/mpq.js';
import { sqOptionsSchema } from './methods/sq.js';
import { slbOptionsSchema } from './methods/slb.js';
import { dropbitsOptionsSchema } from './methods/dropbits.js';
import { pqOptionsSchema } from './methods/pq.js';
import { methodNames, methods } from './methods/registry.js';
import { Optimizer } from './optimizer.js';
import type { Schedule } from './schedule.js';
import { CHECKPOINT_FILE } from './train.js';

const bitsField = z.number().int().min(1).max(8);

/** Methods with options of their own (a key of the same name in the quantize options). */
const methodsWithOptions = ['sq', 'mpq', 'slb', 'dropbits', 'pq'] as const;

export const quantizeOptionsSchema = z
  .object({
    from: z.string().min(1),
    method: z.enum(methodNames as [string, ...string[]]),
    format: z.enum(formatNames as [string, ...string[]]).default('int'),
    wbits: bitsField,
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
    /** Options of --method sq. */
    sq: sqOptionsSchema.optional(),
    /** Options of --method mpq. */
    mpq: mpqOptionsSchema.optional(),
    /** Options of --method slb. */
    slb: slbOptionsSchema.optional(),
    /** Options of --method dropbits. */
    dropbits: dropbitsOptionsSchema.optional(),
    /** Options of --method pq. */
    pq: pqOptionsSchema.optional(),
    epochs: z.number().int().min(0).max(10000).default(10),
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
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    augment: z.boolean().optional(),
    calibrationBatches: z.number().int().positive().max(10000).default(8),
    dataDir: z.string().min(1).optional(),
    limitTrain: z.number().int().positive().optional(),
    limitTest: z.number().int().positive().optional(),
    threads: z.number().int().positive().optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.method !== 'ptq' && o.epochs < 1)
      ctx.addIssue({ code: 'custom', path: ['epochs'], message: `method ${o.method} retrains: epochs must be >= 1` });
    for (const m of methodsWithOptions)
      if (o[m] !== undefined && o.method !== m)
        ctx.addIssue({ code: 'custom', path: [m], message: `${m} options need --method ${m} (the method is ${o.method})` });
    if (o.method === 'dropbits' && (o.wbits < 2 || o.wbits > 4))
      ctx.addIssue({ code: 'custom', path: ['wbits'], message: `dropbits: --wbits ${o.wbits} is out of range: it trains 2 to 4 bits` });
    else if (o.method === 'dropbits' && o.wbits < (o.dropbits?.minBits ?? 2))
      ctx.addIssue({
        code: 'custom',
        path: ['wbits'],
        message: `dropbits: --wbits ${o.wbits} is below the minimum of ${o.dropbits?.minBits ?? 2} bits a layer can settle on`,
      });
    if (o.method === 'mpq' && o.format !== 'int' && o.format !== 'mpq')
      ctx.addIssue({
        code: 'custom',
        path: ['format'],
        message: `method mpq uses the mpq weight format; --format ${o.format} does not apply`,
      });
  });

export type QuantizeOptions = z.output<typeof quantizeOptionsSchema>;
export type QuantizeOptionsInput = z.input<typeof quantizeOptionsSchema>;

export function parseQuantizeOptions(input: unknown): QuantizeOptions {
  const r = quantizeOptionsSchema.safeParse(input);
  if (r.success) return r.data;
  throw new Error(`invalid quantize options: ${r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`);
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

/** A checkpoint file, or a run directory holding checkpoint.lbck; `flag` names the option in errors. */
export function resolveCheckpoint(p: string, flag = '--from'): string {
  if (!existsSync(p)) throw new Error(`${flag}: ${p} does not exist (expected a checkpoint .lbck or a run directory)`);
  return statSync(p).isDirectory() ? path.join(p, CHECKPOINT_FILE) : p;
}

export async function runQuantization(
  input: QuantizeOptionsInput,
  run: { outDir: string; resume?: boolean; events?: TrainEvents; dataset?: Dataset },
): Promise<QuantizeResult> {
  let o = parseQuantizeOptions(input);
  await initEngine(o.threads ? { threads: o.threads } : {});
  const method = methods[o.method as keyof typeof methods];
  const fp = await loadCheckpoint(resolveCheckpoint(o.from));
  if (fp.modelSpec.quantized)
    throw new Error(
      `--from: ${o.from} is already quantized (method ${String(fp.modelSpec.method)}); quantize from its full-precision checkpoint`,
    );
  const dsName = fp.modelSpec.dataset;
  if (typeof dsName !== 'string' || !datasetNames.includes(dsName as never))
    throw new Error(`--from: ${o.from} does not say which dataset it was trained on`);
  const ds = run.dataset ?? loadDataset(dsName, o.dataDir ? { dataDir: o.dataDir } : {});
  const train = limitSplit(ds.train, o.limitTrain),
    test = limitSplit(ds.test, o.limitTest);
  const fpAccuracy = evaluate(fp.model, test, ds.info, o.evalBatchSize).accuracy;
  const ckptPath = path.join(run.outDir, CHECKPOINT_FILE);
  const optimizer = new Optimizer({ kind: 'sgd', momentum: o.momentum, weightDecay: o.weightDecay, nesterov: false });
  let model: tf.LayersModel,
    plan: LayerPlan[],
    history: EpochRecord[] = [],
    resumed = false,
    resumedState: { state: unknown; arrays: Record<string, Float32Array> } | null = null;
  if (run.resume && existsSync(ckptPath)) {
    const ck = await loadCheckpoint(ckptPath);
    const saved = parseQuantizeOptions(ck.state.options);
    checkResumable(saved, o, ['epochs', 'threads'], ckptPath);
    o = { ...saved, epochs: o.epochs, threads: o.threads };
    model = ck.model;
    plan = ck.state.plan as LayerPlan[];
    history = (ck.state.history as EpochRecord[]) ?? [];
    if (ck.optimizer) optimizer.importState(ck.optimizer.state);
    resumedState = { state: ck.state.methodState, arrays: ck.arrays };
    resumed = true;
  } else {
    const config = method.quantizeConfig({
      ...o,
      format: o.format as never,
      formatOptions: o.formatOptions,
      activationFormat: o.activationFormat,
    });
    ({ model, plan } = await quantizeModel(fp.model, {
      ...config,
      ...(o.refitEvery !== undefined ? { refitEvery: o.refitEvery } : {}),
      ...(o.overrides ? { overrides: o.overrides } : {}),
    }));
  }
  const q = model;
  const schedule: Schedule = o.schedule === 'cosine' ? { kind: 'cosine' } : { kind: 'constant' };
  const lrConfig = { lr: o.lr, schedule, warmupEpochs: 0, epochs: o.epochs };
  const start = (method as QuantMethod).start;
  const methodRun =
    method.retrains && start
      ? start({
          model: q,
          plan,
          options: (methodsWithOptions as readonly string[]).includes(o.method)
            ? o[o.method as (typeof methodsWithOptions)[number]]
            : undefined,
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
    const state = { options: o, plan, history: h, fpAccuracy, ...(summary ? { methodSummary: summary } : {}), ...extra };
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
    const batches = Array.from({ length: Math.min(o.calibrationBatches, Math.ceil(train.count / o.batchSize)) }, (_, i) =>
      order.subarray(i * o.batchSize, (i + 1) * o.batchSize),
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
    };
  }
  runEpochs({
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
    save: (h) => save(h, { finalAccuracy: h[h.length - 1].testAccuracy, weightError: weightError(q, plan) }),
  });
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
  };
}
