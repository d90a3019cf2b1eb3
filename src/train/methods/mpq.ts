// `mpq`: retraining-based mixed precision with switching-based extra bits (Kim et al., SPEC.md
// §3). Weights train on the base b-bit grid of the `mpq` format; after every step each
// weight's base-grid code is recorded and a switch to a contiguous level feeds a per-weight
// EMA of the switch frequency (momentum 0.01 by default). At the grant point (half of the
// retraining by default) the weights that switch most — above τ, or the top share under a bit
// budget — get the extra bit: from then on they sit on the half-step grid. The threshold-aware
// learning rate scales the gradient of weights within δ·Δ of a decision threshold by β < 1 (with
// SGD momentum this scales the weight's contribution to the step). Reports average stored bits
// per weight with the flags' extra bits and index (mpq.ts), and compression versus uniform 4-bit.
import { mpqFormat } from '../../quant/mpq.js';
import { z } from 'zod';
import { tf, type Tensor } from '../../engine/tf.js';
import { alloc } from '../../engine/buffer-pool.js';
import { mpqFlagIndex, mpqStoredBits, type MpqSpec } from '../../quant/mpq.js';
import { methodLayers, type MethodContext, type MethodLayer, type MethodRun, type MethodOptions, type QuantMethod } from './method.js';
import { activationSpec, weightSpec } from './method.js';
import { scaleNearThresholds, trackCodes } from './mpq-track.js';
import { OptionError, opt } from '../../util/option-error.js';

/** τ when neither τ nor a budget is given. */
export const DEFAULT_TAU = 0.02;

export const mpqOptionsSchema = z
  .object({
    /** EMA momentum of the switch frequency. */
    momentum: z.number().gt(0).max(1).default(0.01).describe('EMA momentum of the switch frequency'),
    /** When the extra bits are granted, as a share of the retraining. */
    grantAt: z.number().gt(0).lt(1).default(0.5).describe('when to grant the extra bits, as a share of the retraining'),
    /** Grant to weights whose switch frequency exceeds τ ... */
    tau: z.number().gt(0).max(1).optional().describe(`grant the extra bit above this switch frequency (default ${DEFAULT_TAU})`),
    /** ... or to this share of the low-bit weights, most frequent switchers first. */
    budget: z.number().gt(0).max(1).optional().describe('grant the extra bit to this share of weights, most frequent switchers first'),
    /** Threshold-aware learning rate: distance to a threshold, in base steps Δ. */
    delta: z.number().min(0).max(0.5).default(0.1).describe('threshold-aware LR distance, in base steps'),
    /** Threshold-aware learning rate: gradient scale near a threshold (1 turns it off). */
    beta: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      // Gradient scale 1 turns the threshold-aware learning rate off: that is what its --no- switch sets.
      .meta({ off: { flag: 'threshold-lr', value: 1, help: 'turn the threshold-aware learning rate off' } })
      .describe('threshold-aware LR gradient scale'),
  })
  .strict()
  .refine((o) => !(o.tau !== undefined && o.budget !== undefined), {
    message: 'give either tau (a switch-frequency threshold) or budget (a share of weights), not both',
  });

export type MpqOptions = z.output<typeof mpqOptionsSchema>;

interface Tracked extends MethodLayer {
  spec: MpqSpec;
  qmax: number;
  codes: Int8Array;
  freq: Float32Array;
}

/** The base step per channel the quantizer last fitted. */
function baseScale(t: Tracked): Float32Array {
  const p = t.quantizer.state.params as { scale?: number[] } | null;
  if (!p?.scale) throw new Error(`mpq: layer ${t.layer.name} has no fitted scale yet`);
  return Float32Array.from(p.scale);
}

/** Flags for every tracked layer: frequency above τ, or the top `budget` share overall. */
export function grantFlags(freqs: Float32Array[], rule: { tau: number } | { budget: number }): Uint8Array[] {
  let tau: number;
  // Frequencies are float32: compare with τ as float32, so a frequency equal to τ does not exceed it.
  if ('tau' in rule) tau = Math.fround(rule.tau);
  else {
    const total = freqs.reduce((a, f) => a + f.length, 0);
    const want = Math.floor(rule.budget * total);
    if (want === 0) return freqs.map((f) => new Uint8Array(f.length));
    const all = new Float32Array(total);
    let at = 0;
    for (const f of freqs) all.set(f, (at += f.length) - f.length);
    all.sort();
    // The want-th largest frequency; only weights that ever switched qualify.
    tau = Math.max(all[total - want], Number.MIN_VALUE);
    // Flag strictly above the cut, then fill up to the budget with ties at the cut.
    let room = want - freqs.reduce((a, f) => a + f.filter((v) => v > tau).length, 0);
    return freqs.map((f) =>
      Uint8Array.from(f, (v) => {
        if (v > tau) return 1;
        if (v !== tau || room <= 0) return 0;
        room--;
        return 1;
      }),
    );
  }
  return freqs.map((f) => Uint8Array.from(f, (v) => (v > tau ? 1 : 0)));
}

function startMpq(ctx: MethodContext): MethodRun {
  const o = mpqOptionsSchema.parse(ctx.options ?? {});
  const rule = o.budget !== undefined ? { budget: o.budget } : { tau: o.tau ?? DEFAULT_TAU };
  const layers: Tracked[] = methodLayers(ctx.model, ctx.plan).flatMap((l) => {
    const spec = l.quantizer.spec;
    if (spec.format !== mpqFormat.name) return [];
    const n = l.kernel.size;
    return [{ ...l, spec, qmax: 2 ** (spec.bits - 1) - 1, codes: new Int8Array(n), freq: new Float32Array(n) }];
  });
  if (layers.length === 0) throw new OptionError(`mpq: no layer uses the mpq weight format (use ${opt('method')} mpq, which sets it)`);
  const totalSteps = ctx.epochs * ctx.stepsPerEpoch;
  const grantStep = Math.max(1, Math.round(o.grantAt * totalSteps));
  let tracked = 0,
    granted = layers.some((l) => l.quantizer.flags !== null),
    lastSwitchRate = 0,
    lastScaled = 0;
  const varIndex = new Map<string, number>();

  // Flags only change at the grant, but the progress line asks every step: count them once per grant.
  let flaggedCache: number | null = null;
  const flaggedShare = () => {
    if (flaggedCache !== null) return flaggedCache;
    let f = 0,
      n = 0;
    for (const l of layers) {
      n += l.freq.length;
      if (l.quantizer.flags) for (const v of l.quantizer.flags) f += v;
    }
    return (flaggedCache = n ? f / n : 0);
  };
  const storage = () => {
    let bits = 0,
      n = 0;
    const perLayer = layers.map((l) => {
      const flags = l.quantizer.flags ?? new Uint8Array(l.freq.length);
      const b = mpqStoredBits(l.spec.bits, flags);
      const ix = mpqFlagIndex(flags);
      bits += b;
      n += flags.length;
      return {
        name: l.layer.name,
        weights: flags.length,
        baseBits: l.spec.bits,
        flagged: ix.flagged,
        index: ix.kind,
        bitsPerWeight: b / flags.length,
      };
    });
    return { perLayer, bitsPerWeight: bits / n, compressionVsW4: (4 * n) / bits, weights: n };
  };

  return {
    afterStep(_t, global) {
      if (granted) return;
      let switches = 0,
        count = 0;
      for (const l of layers) {
        const w = l.kernel.dataSync() as Float32Array;
        switches += trackCodes(w, baseScale(l), l.qmax, l.codes, l.freq, o.momentum, tracked === 0);
        count += w.length;
      }
      if (tracked > 0) lastSwitchRate = switches / count;
      tracked++;
      if (global + 1 >= grantStep) {
        const flags = grantFlags(
          layers.map((l) => l.freq),
          rule,
        );
        layers.forEach((l, i) => (l.quantizer.flags = flags[i]));
        granted = true;
        flaggedCache = null;
      }
    },
    gradients(vars, grads) {
      if (o.beta >= 1) return grads;
      if (varIndex.size === 0) vars.forEach((v, i) => varIndex.set(v.name, i));
      const out = grads.slice();
      let scaled = 0;
      for (const l of layers) {
        const i = varIndex.get(l.kernel.name);
        if (i === undefined) throw new Error(`mpq: kernel of ${l.layer.name} is not a trained variable`);
        const g = grads[i].dataSync() as Float32Array;
        const res = alloc(g.length);
        scaled += scaleNearThresholds(
          l.kernel.dataSync() as Float32Array,
          g,
          baseScale(l),
          l.qmax,
          l.quantizer.flags,
          o.delta,
          o.beta,
          res,
        );
        out[i] = tf.tensor(res, grads[i].shape, 'float32') as Tensor;
      }
      lastScaled = scaled;
      return out;
    },
    status: () => (granted ? `MPQ flagged ${(100 * flaggedShare()).toFixed(2)}%` : `MPQ switch rate ${(100 * lastSwitchRate).toFixed(3)}%`),
    epochMetrics: () => ({
      switchRate: lastSwitchRate,
      flaggedShare: flaggedShare(),
      bitsPerWeight: storage().bitsPerWeight,
      nearThreshold: lastScaled / layers.reduce((a, l) => a + l.freq.length, 0),
    }),
    summary: (): MpqSummary & Record<string, unknown> => ({
      method: 'mpq',
      options: o,
      rule,
      granted,
      grantStep,
      flaggedShare: flaggedShare(),
      ...storage(),
    }),
    saveState: () => {
      const arrays: Record<string, Float32Array> = {};
      for (const l of layers) {
        arrays[`mpq/${l.layer.name}/codes`] = Float32Array.from(l.codes);
        arrays[`mpq/${l.layer.name}/freq`] = l.freq;
      }
      return { state: { tracked, granted, lastSwitchRate }, arrays };
    },
    loadState(state, arrays) {
      const s = state as { tracked?: number; granted?: boolean; lastSwitchRate?: number };
      tracked = s.tracked ?? 0;
      granted = s.granted ?? granted;
      lastSwitchRate = s.lastSwitchRate ?? 0;
      for (const l of layers) {
        const c = arrays[`mpq/${l.layer.name}/codes`],
          f = arrays[`mpq/${l.layer.name}/freq`];
        if (!c || !f || c.length !== l.codes.length || f.length !== l.freq.length)
          throw new Error(`mpq: the checkpoint's tracking state does not match layer ${l.layer.name}`);
        l.codes.set(c);
        l.freq.set(f);
      }
    },
  };
}

/** What an MPQ run reports: bits per weight (extra bits and flag index included) and flags per layer. */
export interface MpqSummary {
  method: 'mpq';
  bitsPerWeight: number;
  compressionVsW4: number;
  flaggedShare: number;
  perLayer: { name: string; weights: number; flagged: number; index: string; bitsPerWeight: number }[];
}

export const mpqMethod = {
  options: mpqOptionsSchema,
  name: 'mpq',
  summary: 'mixed precision by switching: weights that keep switching levels get an extra bit (Kim et al.)',
  retrains: true,
  weightFormats: ['mpq'],
  quantizeConfig: (o: MethodOptions) => ({
    weight: weightSpec({ ...o, format: 'mpq' }),
    activation: activationSpec({ ...o, format: 'int' }),
    keepEndsAt8Bits: o.keepEnds,
    batchNorm: o.batchNorm,
  }),
  start: startMpq,
  describe: (summary) => {
    const ms = summary as MpqSummary;
    return [
      `${ms.bitsPerWeight.toFixed(3)} bits per low-bit weight (extra bits and flag index included), ` +
        `${ms.compressionVsW4.toFixed(3)}x smaller than uniform 4-bit; ${(100 * ms.flaggedShare).toFixed(2)}% flagged`,
      ...ms.perLayer.map(
        (l) =>
          `${l.name.padEnd(14)} ${String(l.flagged).padStart(8)} of ${String(l.weights).padStart(8)} flagged (${l.index} index)  ${l.bitsPerWeight.toFixed(3)} bits/weight`,
      ),
    ];
  },
} satisfies QuantMethod;
