// `dropbits`: semi-relaxed quantization with DropBits (Lee et al. 2021, SPEC.md §3). Each
// low-bit layer trains on the int grid of --wbits bits with a learned step α per channel (or
// tensor); every step, each weight drops its grid points of the higher bit widths at random
// (relaxed Bernoulli masks, dropbits-grid.ts), the forward takes the nearest kept point and the
// backward is the multi-class straight-through estimator through the grid-point probabilities.
// The keep probability σ(θ_k) of each bit above minBits is learned per layer (or fixed, the
// plain DropBits regularizer), pulled down by λ·(expected bits above minBits per weight); a layer
// settles on minBits plus the leading bits it keeps with probability ≥ ½. At every epoch's end
// the layers are narrowed to the int format at their settled bits (step α·2^(wbits−bits)), so
// the epoch's test accuracy, the checkpoint and the packed model are the settled network; the
// next step widens them again.
import { intFormat } from '../../quant/int.js';
import { z } from 'zod';
import { tf, type Tensor } from '../../engine/tf.js';
import { deriveSeed } from '../../data/rng.js';
import { formatOf } from '../../quant/registry.js';
import { Quantizer } from '../../nn/quantizer.js';
import type { QuantLayer } from '../../nn/quant-layer.js';
import { methodLayers, standardConfig, type MethodContext, type MethodRun, type QuantMethod } from './method.js';
import { dropBackward, dropForward, dropGrid, sampleMasks, sigmoid, type DropGrid } from './dropbits-grid.js';
import { adamReference } from '../optimizer.js';
import { OptionError, opt } from '../../util/option-error.js';

export const dropbitsOptionsSchema = z
  .object({
    /** The fewest bits a layer can settle on (the grid that is never dropped). */
    minBits: z.number().int().min(2).max(8).default(2).describe('the fewest bits a layer can settle on'),
    /** Learn the drop rates per layer and bit (false: the fixed DropBits regularizer). */
    learnRates: z
      .boolean()
      .default(true)
      .meta({ flag: 'learn' })
      .describe('learn the drop rates (off: the plain DropBits regularizer; layers keep --wbits)'),
    /** Drop probability of each bit above minBits at the start (and throughout if not learned). */
    dropRate: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.1)
      .meta({ flag: 'rate' })
      .describe('drop probability of each bit above the minimum at the start'),
    /** Weight of the regularizer: loss per expected bit above minBits per weight. */
    lambda: z.number().min(0).max(10).default(0.01).describe('regularizer weight per expected bit above the minimum'),
    /** Logistic temperature of the grid-point probabilities in grid steps (τ = κ·α). */
    kappa: z
      .number()
      .gt(0)
      .max(10)
      .default(1 / 3)
      .describe('logistic temperature of the grid-point probabilities, in grid steps'),
    /** Temperature of the relaxed Bernoulli masks. */
    concreteTemp: z
      .number()
      .gt(0)
      .max(10)
      .default(2 / 3)
      .describe('temperature of the relaxed Bernoulli masks'),
    /** Adam learning rates of log α and of the keep logits θ. */
    alphaLr: z.number().positive().max(1).default(1e-3).describe('Adam learning rate of the log grid steps'),
    rateLr: z.number().positive().max(10).default(0.01).describe('Adam learning rate of the keep logits'),
  })
  .strict();

export type DropbitsOptions = z.output<typeof dropbitsOptionsSchema>;

interface Adam {
  m: Float64Array;
  v: Float64Array;
}

const adam = (n: number): Adam => ({ m: new Float64Array(n), v: new Float64Array(n) });

/** Adam (β = 0.9, 0.999) in place on the method's own parameters; `step` is 1-based. */
const ADAM = { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false } as const;
function adamStep(p: Float64Array, g: Float64Array, s: Adam, lr: number, step: number): void {
  adamReference(p, g, s.m, s.v, p, lr, ADAM, 0, step);
}

const logit = (p: number) => Math.log(p / (1 - p));

interface DropLayer {
  layer: QuantLayer;
  kernel: tf.Variable;
  /** The int spec at the full bit width, and the quantizer that trains with it. */
  spec: Record<string, unknown> & { bits: number };
  wide: Quantizer;
  grid: DropGrid;
  weights: number;
  logAlpha: Float64Array;
  theta: Float64Array;
  alphaAdam: Adam;
  thetaAdam: Adam;
  masks: Float32Array;
}

interface SavedLayer {
  spec: DropLayer['spec'];
  logAlpha: unknown;
  theta: unknown;
  alphaAdam?: unknown[];
  thetaAdam?: unknown[];
}

/** The bits a layer settles on: minBits plus the leading bits kept with probability ≥ ½. */
export function settledBits(grid: DropGrid, theta: Float64Array): number {
  let b = grid.minBits;
  for (let k = 0; k < grid.groups && theta[k] >= 0; k++) b++;
  return b;
}

const alphaOf = (l: DropLayer) => Float32Array.from(l.logAlpha, Math.exp);

function startDropbits(ctx: MethodContext): MethodRun {
  const o = dropbitsOptionsSchema.parse(ctx.options ?? {});
  const fixedTheta = logit(1 - o.dropRate);
  const build = (layer: QuantLayer, kernel: tf.Variable, wide: Quantizer, spec: DropLayer['spec']): DropLayer => {
    if (spec.format !== intFormat.name)
      throw new OptionError(
        `dropbits: layer ${layer.name} has ${String(spec.format)} weights; dropbits drops points of the int grid (${opt('format')} int)`,
      );
    if (spec.bits < o.minBits)
      throw new Error(`dropbits: layer ${layer.name} has ${spec.bits}-bit weights, fewer than minBits ${o.minBits}`);
    if (spec.bits > 4) throw new Error(`dropbits: layer ${layer.name} has ${spec.bits}-bit weights; dropbits trains 2 to 4 bits`);
    const grid = dropGrid(spec.bits, o.minBits);
    const w = kernel.dataSync() as Float32Array;
    const p = formatOf(wide.spec).fit(w, kernel.shape, wide.spec as never) as { scale: number[] };
    const l: DropLayer = {
      layer,
      kernel,
      spec,
      wide,
      grid,
      weights: w.length,
      logAlpha: Float64Array.from(p.scale, Math.log),
      theta: new Float64Array(grid.groups).fill(fixedTheta),
      alphaAdam: adam(p.scale.length),
      thetaAdam: adam(grid.groups),
      masks: new Float32Array(w.length * grid.groups),
    };
    // Training sees each weight on its own sampled grid; the gradient mask is 1 so that the
    // kernel's gradient arrives as ∂L/∂ŵ, which gradients() turns into the multi-class STE's.
    wide.trainingHook = (x, out, mask) => {
      dropForward(x, alphaOf(l), l.grid, l.grid.groups ? l.masks : null, out);
      mask.fill(1);
    };
    return l;
  };
  const layers = methodLayers(ctx.model, ctx.plan).map(({ layer, quantizer, kernel }) =>
    build(layer, kernel, quantizer, quantizer.spec as DropLayer['spec']),
  );
  if (layers.length === 0) throw new Error('dropbits: no low-bit weight layer to retrain (every quantized layer is an 8-bit end)');
  const total = layers.reduce((s, l) => s + l.weights, 0);
  let adamSteps = 0;
  const varIndex = new Map<string, number>();

  /** The int quantizer of a layer at its settled bits, with the learned step: what evaluation and packing see. */
  const narrow = (l: DropLayer): Quantizer => {
    const bits = settledBits(l.grid, l.theta);
    const scale = Array.from(l.logAlpha, (a) => Math.fround(Math.exp(a) * 2 ** (l.spec.bits - bits)));
    return new Quantizer({ ...l.spec, bits }, 'weight', l.layer.refitEvery, 0.9, {
      params: { scale, zeroPoint: scale.map(() => 0) },
      range: null,
      steps: 1,
    });
  };
  const avgBits = () => layers.reduce((s, l) => s + l.weights * settledBits(l.grid, l.theta), 0) / total;
  const meanKeep = () => {
    const ks = layers.flatMap((l) => Array.from(l.theta, sigmoid));
    return ks.length ? ks.reduce((a, b) => a + b, 0) / ks.length : 1;
  };

  return {
    beforeStep(_t, global) {
      layers.forEach((l, li) => {
        if (l.layer.weightQ !== l.wide) l.layer.setWeightQuantizer(l.wide);
        if (l.grid.groups) sampleMasks(l.theta, l.weights, o.concreteTemp, deriveSeed(ctx.seed, 'dropbits', li, global), l.masks);
      });
    },
    gradients(vars, grads) {
      if (varIndex.size === 0) vars.forEach((v, i) => varIndex.set(v.name, i));
      const out = grads.slice();
      adamSteps++;
      for (const l of layers) {
        const i = varIndex.get(l.kernel.name);
        if (i === undefined) throw new Error(`dropbits: kernel of ${l.layer.name} is not a trained variable`);
        const alpha = alphaOf(l);
        // Without droppable bits every mask array is empty: a full-width grid, nothing to learn in θ.
        const r = dropBackward(
          l.kernel.dataSync() as Float32Array,
          alpha,
          l.grid,
          l.masks,
          grads[i].dataSync() as Float32Array,
          o.kappa,
          o.concreteTemp,
        );
        out[i] = tf.tensor(r.gx, grads[i].shape, 'float32') as Tensor;
        adamStep(
          l.logAlpha,
          Float64Array.from(r.galpha, (g, c) => g * alpha[c]),
          l.alphaAdam,
          o.alphaLr,
          adamSteps,
        );
        if (o.learnRates && l.grid.groups) {
          // λ·(n_l/N)·Σ_k Π_{k'≤k} σ(θ_k'): the expected bits above minBits, per weight of the model.
          const p = Array.from(l.theta, sigmoid),
            share = (o.lambda * l.weights) / total;
          const gt = Float64Array.from(r.gtheta, (g, j) => {
            let reg = 0,
              prod = 1;
            for (let k = 0; k < p.length; k++) {
              prod *= p[k];
              if (k >= j) reg += prod;
            }
            return g + share * reg * (1 - p[j]);
          });
          adamStep(l.theta, gt, l.thetaAdam, o.rateLr, adamSteps);
        }
      }
      return out;
    },
    afterStep(_t, global) {
      if ((global + 1) % ctx.stepsPerEpoch !== 0) return;
      for (const l of layers) l.layer.setWeightQuantizer(narrow(l));
    },
    status: () => `DropBits ${avgBits().toFixed(2)} bits/weight, keep ${(100 * meanKeep()).toFixed(1)}%`,
    epochMetrics: () => ({ dropbitsBits: avgBits(), dropbitsKeep: meanKeep() }),
    summary: (): DropbitsSummary & Record<string, unknown> => ({
      method: 'dropbits',
      options: o,
      bitsPerWeight: avgBits(),
      perLayer: layers.map((l) => ({
        name: l.layer.name,
        weights: l.weights,
        maxBits: l.spec.bits,
        bits: settledBits(l.grid, l.theta),
        keep: Array.from(l.theta, sigmoid),
        meanStep: Array.from(l.logAlpha, Math.exp).reduce((a, b) => a + b, 0) / l.logAlpha.length,
      })),
    }),
    // Steps, logits and Adam moments are a few numbers per channel: JSON keeps them as exact doubles.
    saveState: () => ({
      state: {
        adamSteps,
        layers: Object.fromEntries(
          layers.map((l) => [
            l.layer.name,
            {
              spec: l.spec,
              logAlpha: Array.from(l.logAlpha),
              theta: Array.from(l.theta),
              alphaAdam: [Array.from(l.alphaAdam.m), Array.from(l.alphaAdam.v)],
              thetaAdam: [Array.from(l.thetaAdam.m), Array.from(l.thetaAdam.v)],
            },
          ]),
        ),
      },
      arrays: {},
    }),
    loadState(state) {
      const s = state as { adamSteps?: number; layers?: Record<string, SavedLayer> };
      adamSteps = s.adamSteps ?? 0;
      layers.forEach((l, li) => {
        const n = l.layer.name;
        const saved = s.layers?.[n];
        if (!saved) throw new Error(`dropbits: the checkpoint has no state of ${n} to resume from`);
        // A checkpoint holds the layers narrowed to their settled bits: train on at the full width.
        const r = build(l.layer, l.kernel, new Quantizer(saved.spec, 'weight', l.layer.refitEvery), saved.spec);
        const put = (dst: Float64Array, src: unknown, what: string) => {
          if (!Array.isArray(src) || src.length !== dst.length || !src.every(Number.isFinite))
            throw new Error(`dropbits: the checkpoint's ${what} of ${n} is not ${dst.length} numbers`);
          dst.set(src as number[]);
        };
        put(r.logAlpha, saved.logAlpha, 'step');
        put(r.theta, saved.theta, 'keep logits');
        put(r.alphaAdam.m, saved.alphaAdam?.[0], 'step moments');
        put(r.alphaAdam.v, saved.alphaAdam?.[1], 'step moments');
        put(r.thetaAdam.m, saved.thetaAdam?.[0], 'keep-logit moments');
        put(r.thetaAdam.v, saved.thetaAdam?.[1], 'keep-logit moments');
        layers[li] = r;
      });
    },
  };
}

/** What a DropBits run reports: the width each layer settled on and its keep probabilities. */
export interface DropbitsSummary {
  method: 'dropbits';
  bitsPerWeight: number;
  perLayer: { name: string; weights: number; maxBits: number; bits: number; keep: number[]; meanStep: number }[];
}

export const dropbitsMethod = {
  options: dropbitsOptionsSchema,
  check: ({ wbits, options }) => {
    const minBits = (options as { minBits?: number } | undefined)?.minBits ?? 2;
    if (wbits < 2 || wbits > 4)
      return [{ path: 'wbits', message: `dropbits: ${opt('wbits')} ${wbits} is out of range: it trains 2 to 4 bits` }];
    if (wbits < minBits)
      return [
        { path: 'wbits', message: `dropbits: ${opt('wbits')} ${wbits} is below the minimum of ${minBits} bits a layer can settle on` },
      ];
    return [];
  },
  name: 'dropbits',
  summary:
    'semi-relaxed quantization with DropBits: multi-class STE on the int grid, random drops of the higher bits, learned per-layer bit widths',
  retrains: true,
  weightFormats: ['int'],
  // int only (weightFormats): it drops points of the int grid.
  quantizeConfig: standardConfig,
  start: startDropbits,
  describe: (summary) => {
    const ds = summary as DropbitsSummary;
    return [
      `settled on ${ds.bitsPerWeight.toFixed(3)} bits per low-bit weight`,
      ...ds.perLayer.map(
        (l) =>
          `${l.name.padEnd(14)} ${l.bits} bits (of ${l.maxBits}; keep probability per bit above the minimum: ${l.keep.map((k) => k.toFixed(2)).join(', ') || '-'})`,
      ),
    ];
  },
} satisfies QuantMethod;
