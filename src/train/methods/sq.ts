// `sq`: stochastic quantization (Dong et al. 2017, SPEC.md §3). Retraining runs in stages of
// equal length with SQ ratios r (default 0.5 → 0.75 → 0.875 → 1), each restarting the
// learning-rate schedule (or, as an ablation, one schedule over all stages). In every training
// step each low-bit layer keeps ⌊(1 - r)·m⌋ of its m units (output channels, or single weights) at full precision, drawn afresh by roulette on
// their quantization error (sq-select.ts); the rest are quantized with the layer's format. The
// backward pass updates the real-valued weights of both parts: full-precision units get their
// gradient unchanged, quantized ones the format's straight-through rule. Works with any weight
// format; the 8-bit ends are left alone. Evaluation always uses the fully quantized model.
import { z } from 'zod';
import { deriveSeed } from '../../data/rng.js';
import { learningRate } from '../schedule.js';
import { methodLayers, standardConfig, type MethodContext, type MethodRun, type QuantMethod } from './method.js';
import { keepChannels, keepElements, probabilityFunctions } from './sq-select.js';

export const sqOptionsSchema = z
  .object({
    /** SQ ratio of each stage (share of units quantized), ascending, ending at 1. */
    stages: z.array(z.number().gt(0).max(1)).min(1).max(16).default([0.5, 0.75, 0.875, 1]).describe('SQ ratio per stage, ascending to 1'),
    /** Units of selection: output channels (rows) or single weights. */
    partition: z.enum(['channel', 'element']).default('channel').describe('select output channels or single weights'),
    probability: z.enum(probabilityFunctions).default('linear').describe('selection weight of the quantization error'),
    /** Roulette on the errors, or the largest errors (ablation). */
    selection: z
      .enum(['stochastic', 'deterministic'])
      .default('stochastic')
      .describe('stochastic roulette or deterministic largest errors'),
    /**
     * Restart the learning-rate schedule at every stage (SPEC.md), or run one schedule over all
     * stages, which leaves the fully quantized last stage at the low end of the schedule only.
     */
    restartLr: z
      .boolean()
      .default(true)
      .meta({ flag: 'restart' })
      .describe('restart the learning-rate schedule at every stage (off: one schedule over all stages)'),
  })
  .strict()
  .superRefine((o, ctx) => {
    for (let i = 1; i < o.stages.length; i++)
      if (!(o.stages[i] > o.stages[i - 1]))
        ctx.addIssue({ code: 'custom', path: ['stages'], message: `ratios must increase (got ${o.stages.join(', ')})` });
    if (o.stages[o.stages.length - 1] !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['stages'],
        message: `the last stage must quantize everything (ratio 1), got ${o.stages.join(', ')}`,
      });
  });

export type SqOptions = z.output<typeof sqOptionsSchema>;

/** Stage index at position t (epochs) of a retraining of `epochs` epochs in `n` equal stages. */
export function sqStage(t: number, epochs: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.floor((t / epochs) * n + 1e-9)));
}

function startSq(ctx: MethodContext): MethodRun {
  const o = sqOptionsSchema.parse(ctx.options ?? {});
  const layers = methodLayers(ctx.model, ctx.plan);
  if (layers.length === 0) throw new Error('sq: no low-bit weight layer to retrain (every quantized layer is an 8-bit end)');
  const n = o.stages.length;
  const stageEpochs = ctx.epochs / n;
  let ratio = o.stages[0],
    step = 0;
  const kept = new Float64Array(layers.length);
  layers.forEach((l, li) => {
    l.quantizer.trainingHook = (x, out, mask, shape) => {
      if (ratio >= 1) return void (kept[li] = 0);
      const selection = {
        fn: o.probability,
        deterministic: o.selection === 'deterministic',
        seed: deriveSeed(ctx.seed, 'sq', step, li),
      };
      if (o.partition === 'channel') {
        const C = shape[shape.length - 1];
        const count = Math.floor((1 - ratio) * C);
        keepChannels(x, out, mask, C, count, selection);
        kept[li] = count / C;
      } else {
        const count = Math.floor((1 - ratio) * x.length);
        keepElements(x, out, mask, count, selection);
        kept[li] = count / x.length;
      }
    };
  });
  return {
    lrAt(t) {
      if (!o.restartLr) return learningRate(ctx.lr, t);
      const s = sqStage(t, ctx.epochs, n);
      return learningRate({ ...ctx.lr, epochs: stageEpochs, warmupEpochs: 0 }, t - s * stageEpochs);
    },
    beforeStep(t, global) {
      ratio = o.stages[sqStage(t, ctx.epochs, n)];
      step = global;
    },
    status: () => `SQ ratio ${ratio}`,
    epochMetrics: () => ({ sqRatio: ratio }),
    summary: () => ({
      method: 'sq',
      stages: o.stages,
      partition: o.partition,
      probability: o.probability,
      selection: o.selection,
      restartLr: o.restartLr,
      layers: layers.map((l) => l.layer.name),
      lastKeptShare: Array.from(kept),
    }),
    // The draw is a pure function of (seed, step, layer): nothing to carry across a resume.
    saveState: () => ({ state: {}, arrays: {} }),
    loadState: () => {},
  };
}

export const sqMethod = {
  options: sqOptionsSchema,
  name: 'sq',
  summary: 'stochastic quantization: a shrinking, error-weighted random share of channels stays full precision',
  retrains: true,
  weightFormats: 'any',
  quantizeConfig: standardConfig,
  start: startSq,
} satisfies QuantMethod;
