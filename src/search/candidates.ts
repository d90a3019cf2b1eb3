// The per-layer choices of mixed-precision search (SPEC.md §4): a weight format and width and an
// activation width for every low-bit layer, each with a cost from the accelerator model and a
// value from the sensitivity — the HAWQ-V2 proxy −tr(H_l)·MSE_c(W_l), the loss increase a
// second-order expansion predicts for quantizing the layer's weights with candidate c.
// Costs are per layer with outputs counted at 8 bits, so the knapsack stays separable; the chosen
// configuration is then simulated exactly. Activation widths enter through cost only so far (a
// measured per-layer loss increase for them is the next step).
import type { tf } from '../engine/tf.js';
import { formatError } from '../quant/analysis.js';
import { formatOf, parseFormatSpec } from '../quant/registry.js';
import type { Accelerator } from '../hw/config.js';
import { describeModel } from '../hw/from-model.js';
import { costLayer, type LayerPrecision } from '../hw/layer.js';
import { storageBits } from '../hw/from-model.js';
import type { LayerSensitivity } from './sensitivity.js';
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
        if (f === 'int') weight.calibration = 'mse';
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

/** Cost and value of every candidate for every conv/dense layer of a float model. */
export function choiceTable(
  model: tf.LayersModel,
  sens: LayerSensitivity[],
  candidates: Candidate[],
  accel: Accelerator,
  objective: Objective,
  keepEnds = true,
): LayerChoices[] {
  const hw = describeModel(model);
  if (hw.length !== sens.length) throw new Error(`sensitivities for ${sens.length} layers, the model has ${hw.length}`);
  const int8: Candidate = { label: 'int8/a8', weight: { format: 'int', bits: 8, granularity: 'channel' }, abits: 8 };
  return hw.map((l, i) => {
    const fixed = keepEnds && (i === 0 || i === hw.length - 1);
    const cands = fixed ? [int8] : candidates;
    const layer = model.getLayer(l.shape.name);
    const w = layer.getWeights()[0];
    const x = w.dataSync() as Float32Array;
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
      // A trace estimated below zero (a flat or noisy direction) means no measurable sensitivity.
      const value = -Math.max(sens[i].trace, 0) * formatError(x, w.shape, spec).mse;
      return {
        cost: objective === 'latency' ? cost.cycles : objective === 'energy' ? cost.energyPj.total : (p.weightStorageBits * x.length) / 8,
        value,
      };
    });
    return { name: l.shape.name, fixed, candidates: cands, choices };
  });
}
