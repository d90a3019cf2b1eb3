// The per-layer choices of mixed-precision search (SPEC.md §4): a weight format and width and an
// activation width for every low-bit layer, each with a cost from the accelerator model and a
// value: minus the predicted loss increase, the sum of a weight term (the HAWQ-V2 proxy
// tr(H_l)·MSE_c(W_l), or the measured loss increase with that layer's weights quantized) and an
// activation term (the measured loss increase with that layer's input quantized).
// Costs are per layer with outputs counted at 8 bits, so the knapsack stays separable; the chosen
// configuration is then simulated exactly.
import type { tf } from '../engine/tf.js';
import { formatError } from '../quant/analysis.js';
import { acceptsField, formatOf, parseFormatSpec, type FormatName } from '../quant/registry.js';
import type { Accelerator } from '../hw/config.js';
import { describeModel } from '../hw/from-model.js';
import { costLayer, type LayerPrecision } from '../hw/layer.js';
import { storageBits } from '../hw/from-model.js';
import type { Tensor } from '../engine/tf.js';
import { layerSensitivities, type LayerSensitivity } from './sensitivity.js';
import { calibrationLoss, lossWithOneLayer } from './measured.js';
import type { TraceOptions } from './hessian.js';
import type { Choice } from './knapsack.js';

export interface Candidate {
  label: string;
  weight: Record<string, unknown>;
  abits: number;
}

export type Objective = 'latency' | 'energy' | 'size';

/** The default set: int (per channel, MSE grid) and dybit weights at 2, 3, 4 and 8 bits; activations at 4 and 8 bits. */
export function defaultCandidates(formats = ['int', 'dybit'], wbits = [2, 3, 4, 8], abits = [4, 8]): Candidate[] {
  const out: Candidate[] = [];
  for (const f of formats)
    for (const w of wbits)
      for (const a of abits) {
        const weight: Record<string, unknown> = { format: f, bits: w, granularity: 'channel' };
        // Candidates fit their grids by MSE where the format's schema offers it.
        if (acceptsField(f as FormatName, 'calibration', 'mse')) weight.calibration = 'mse';
        parseFormatSpec(weight);
        out.push({ label: `${f}${w}/a${a}`, weight, abits: a });
      }
  return out;
}

export interface LayerChoices {
  name: string;
  /** Kept at 8 bits (first and last layer), a single choice. */
  fixed: boolean;
  candidates: Candidate[];
  choices: Choice[];
}

/** Predicted loss increases of a layer: for a weight candidate, and for an activation width. */
export interface Terms {
  weight(layer: string, c: Candidate): number;
  activation(layer: string, abits: number): number;
  /** The Hessian traces, when the weight term uses them. */
  sensitivities?: LayerSensitivity[];
}

/** Measured loss increase (≥ 0) with each layer's input quantized at each width. */
async function activationTerms(
  model: tf.LayersModel,
  x: Tensor,
  y: Tensor,
  names: string[],
  abits: number[],
): Promise<Map<string, number>> {
  const base = calibrationLoss(model, x, y);
  const out = new Map<string, number>();
  for (const n of names)
    for (const a of abits) {
      const l = await lossWithOneLayer(model, x, y, n, { activation: { format: 'int', bits: a, signed: false, calibration: 'mse' } });
      out.set(`${n}/${a}`, Math.max(0, l - base));
    }
  return out;
}

/**
 * Sensitivity terms on a calibration batch: 'hessian' (HAWQ-V2 proxy for weights) or 'measured'
 * (loss increase per weight candidate); activations are measured in both.
 */
export async function sensitivityTerms(
  model: tf.LayersModel,
  x: Tensor,
  y: Tensor,
  candidates: Candidate[],
  mode: 'hessian' | 'measured',
  traceOptions: TraceOptions = {},
): Promise<Terms> {
  const names = describeModel(model).map((l) => l.shape.name);
  const act = await activationTerms(model, x, y, names, [...new Set(candidates.map((c) => c.abits))]);
  const activation = (layer: string, a: number) => act.get(`${layer}/${a}`) ?? 0;
  if (mode === 'hessian') {
    const s = layerSensitivities(model, x, y, traceOptions);
    const trace = new Map(s.layers.map((l) => [l.name, l.trace]));
    const weights = new Map(names.map((n) => [n, model.getLayer(n).getWeights()[0]]));
    return {
      sensitivities: s.layers,
      // A trace estimated below zero (a flat or noisy direction) means no measurable sensitivity.
      weight: (layer, c) => {
        const w = weights.get(layer)!;
        return Math.max(trace.get(layer) ?? 0, 0) * formatError(w.dataSync() as Float32Array, w.shape, c.weight).mse;
      },
      activation,
    };
  }
  const base = calibrationLoss(model, x, y);
  const measured = new Map<string, number>();
  for (const n of names)
    for (const c of candidates) {
      const key = `${n}/${JSON.stringify(c.weight)}`;
      if (!measured.has(key)) measured.set(key, Math.max(0, (await lossWithOneLayer(model, x, y, n, { weight: c.weight })) - base));
    }
  return { weight: (layer, c) => measured.get(`${layer}/${JSON.stringify(c.weight)}`) ?? 0, activation };
}

/** Cost and value of every candidate for every conv/dense layer of a float model. */
export function choiceTable(
  model: tf.LayersModel,
  terms: Terms,
  candidates: Candidate[],
  accel: Accelerator,
  objective: Objective,
  keepEnds = true,
): LayerChoices[] {
  const hw = describeModel(model);
  const int8: Candidate = { label: 'int8/a8', weight: { format: 'int', bits: 8, granularity: 'channel' }, abits: 8 };
  return hw.map((l, i) => {
    const fixed = keepEnds && (i === 0 || i === hw.length - 1);
    const cands = fixed ? [int8] : candidates;
    const weights = l.shape.kh * l.shape.kw * l.shape.inC * l.shape.outC;
    const choices = cands.map((c) => {
      const spec = parseFormatSpec(c.weight);
      const desc = formatOf(spec).hardware(spec as never);
      const p: LayerPrecision = {
        weightBits: desc.multiplierBits,
        inputBits: c.abits,
        outputBits: 8,
        weightStorageBits: storageBits(spec, null),
        flaggedShare: 0,
        decoder: desc.decoder,
        float: false,
      };
      const cost = costLayer(l.shape, p, accel);
      const value = -(terms.weight(l.shape.name, c) + terms.activation(l.shape.name, c.abits));
      return {
        cost: objective === 'latency' ? cost.cycles : objective === 'energy' ? cost.energyPj.total : (p.weightStorageBits * weights) / 8,
        value,
      };
    });
    return { name: l.shape.name, fixed, candidates: cands, choices };
  });
}
