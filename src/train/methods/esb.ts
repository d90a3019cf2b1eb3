// `esb`: retraining with elastic significant bits (Gong et al., SPEC.md §2-3). Weights use the
// esb format at b bits with k significant bits (default 1); the distribution difference
// aligner sets each channel's α = λ(b, k)·std(W) — λ minimizing the expected squared error for a
// standard normal — and refits it after every step (or every --refit-every steps) as the weights move, so the grid follows the
// distribution through retraining. Activations use the usual unsigned format. The run reports
// how far the aligner moved α per layer.
import { esbFormat } from '../../quant/esb.js';
import {
  activationSpec,
  methodLayers,
  weightSpec,
  type MethodContext,
  type MethodOptions,
  type MethodRun,
  type QuantMethod,
} from './method.js';

function meanAlpha(params: unknown): number | null {
  const a = (params as { alpha?: number[] } | null)?.alpha;
  return a && a.length ? a.reduce((s, v) => s + v, 0) / a.length : null;
}

function startEsb(ctx: MethodContext): MethodRun {
  const layers = methodLayers(ctx.model, ctx.plan);
  if (layers.length === 0) throw new Error('esb: no low-bit weight layer to retrain (every quantized layer is an 8-bit end)');
  for (const l of layers)
    if (l.quantizer.spec.format !== esbFormat.name)
      throw new Error(`esb: layer ${l.layer.name} uses ${l.quantizer.spec.format}, not the esb format`);
  // α of each layer when retraining starts (fitted at the first step) and now.
  const first: (number | null)[] = layers.map(() => null);
  const now = () => layers.map((l) => meanAlpha(l.quantizer.state.params));
  const drift = () => {
    const cur = now();
    const d = cur.map((a, i) => (a !== null && first[i] ? Math.abs(a / first[i]! - 1) : 0));
    return d.reduce((s, v) => s + v, 0) / d.length;
  };
  return {
    afterStep() {
      const cur = now();
      cur.forEach((a, i) => void (first[i] ??= a));
    },
    status: () => `ESB α drift ${(100 * drift()).toFixed(1)}%`,
    epochMetrics: () => ({ esbAlphaDrift: drift() }),
    summary: () => {
      const cur = now();
      return {
        method: 'esb',
        layers: layers.map((l, i) => ({ name: l.layer.name, spec: l.quantizer.spec, alphaStart: first[i], alphaEnd: cur[i] })),
        alphaDrift: drift(),
      };
    },
    saveState: () => ({ state: { first }, arrays: {} }),
    loadState(state) {
      const f = (state as { first?: (number | null)[] }).first;
      if (f && f.length === first.length) f.forEach((v, i) => (first[i] = v));
    },
  };
}

/** The esb weight format (the only one it takes: weightFormats) with one significant bit unless --k says otherwise. */
function esbOptions(o: MethodOptions): MethodOptions {
  return { ...o, format: 'esb', formatOptions: { k: 1, ...o.formatOptions } };
}

export const esbMethod = {
  name: 'esb',
  summary: 'elastic significant bits: esb weights whose α the distribution difference aligner refits every step',
  retrains: true,
  weightFormats: ['esb'],
  quantizeConfig: (o) => {
    const e = esbOptions(o);
    return { weight: weightSpec(e), activation: activationSpec(o), keepEndsAt8Bits: o.keepEnds, batchNorm: o.batchNorm };
  },
  start: startEsb,
} satisfies QuantMethod;
