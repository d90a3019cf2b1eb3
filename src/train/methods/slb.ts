// `slb`: searching for low-bit weights (Yang et al. 2020, SPEC.md §3). Every low-bit weight
// becomes a choice among its layer's values v_c,j = unit_c·level_j (the format's grid, fitted
// once to the float weights and then frozen): logits A_i over the J values, the weight used in
// training is Σ_j softmax(T·A_i)_j·v_c,j, and the temperature T rises geometrically from tStart
// to tEnd so the choice hardens; the final weight is the value of the largest logit, exactly on
// the grid. The logits learn by Adam from the soft weights' gradients (slb-soft.ts, native in
// slb.cc); the kernels' own optimizer step is overwritten. At every epoch's end the kernels hold
// the hard choices, so the test accuracy of each epoch is that of the quantized network.
// Memory: J logits plus two Adam moments per weight, 12·J bytes per weight (vgg9 at 4 bits:
// 2.58 M low-bit weights × 15 values × 12 B ≈ 444 MiB, reported as logitBytes).
import { z } from 'zod';
import { tf, type Tensor } from '../../engine/tf.js';
import { intGrid, sharedLevels } from '../../quant/grid.js';
import { formatOf } from '../../quant/registry.js';
import { methodLayers, standardConfig, type MethodContext, type MethodRun, type QuantMethod } from './method.js';
import { slbAdam, slbHard, slbInit, slbSoft } from './slb-soft.js';
import type { Quantizer } from '../../nn/quantizer.js';

export const slbOptionsSchema = z
  .object({
    /** Temperature at the start and at the end of retraining (geometric in between). */
    tStart: z.number().positive().default(1).describe('softmax temperature at the start'),
    tEnd: z.number().positive().default(50).describe('temperature at the end, reached geometrically'),
    /** Adam learning rate of the logits (they are in squared grid steps). */
    logitLr: z.number().positive().max(10).default(0.05).meta({ flag: 'lr' }).describe('Adam learning rate of the per-weight logits'),
  })
  .strict()
  .refine((o) => o.tEnd >= o.tStart, { message: 'tEnd must be at least tStart (the temperature rises)' });

export type SlbOptions = z.output<typeof slbOptionsSchema>;

interface SlbLayer {
  name: string;
  kernel: tf.Variable;
  shape: number[];
  levels: Float32Array;
  unit: Float32Array;
  /** The frozen grid parameters (restored before every evaluation). */
  params: unknown;
  spec: Quantizer['spec'];
  a: Float32Array;
  m: Float32Array;
  v: Float32Array;
  setParams(this: SlbLayer): void;
}

/** The layer's values as one level set shared by all channels times a unit per channel. */
function valueSet(spec: Quantizer['spec'], params: unknown, cout: number, name: string): { levels: Float32Array; unit: Float32Array } {
  const grid = intGrid(spec, params, cout, `slb: layer ${name}`);
  const lv = sharedLevels(grid);
  if (!lv) throw new Error(`slb: layer ${name}'s ${spec.format} grid has different values per channel; slb needs one value set`);
  return {
    levels: Float32Array.from(lv),
    unit: Float32Array.from(grid.channels === 1 ? Array.from({ length: cout }, () => grid.unit[0]) : grid.unit),
  };
}

export function slbTemperature(o: SlbOptions, t: number, epochs: number): number {
  return o.tStart * (o.tEnd / o.tStart) ** Math.min(1, Math.max(0, t / epochs));
}

function startSlb(ctx: MethodContext): MethodRun {
  const o = slbOptionsSchema.parse(ctx.options ?? {});
  const layers: SlbLayer[] = methodLayers(ctx.model, ctx.plan).map(({ layer, quantizer, kernel }) => {
    const spec = quantizer.spec;
    const w = Float32Array.from(kernel.dataSync() as Float32Array);
    const params = formatOf(spec).fit(w, kernel.shape, spec as never);
    const cout = kernel.shape[kernel.shape.length - 1];
    const { levels, unit } = valueSet(spec, params, cout, layer.name);
    // Logits in squared distances of one grid step (the smallest gap between values).
    const gaps = levels.slice(1).map((x, i) => x - levels[i]);
    const step = Float32Array.from(unit, (u) => u * Math.max(1e-6, Math.min(...gaps.filter((g) => g > 0))));
    const a = slbInit(w, levels, unit, step);
    // Training sees the soft weights as they are; the frozen grid is put back for evaluation.
    quantizer.trainingHook = (x, out, mask) => {
      out.set(x);
      mask.fill(1);
    };
    return {
      name: layer.name,
      kernel,
      shape: kernel.shape as number[],
      levels,
      unit,
      params,
      a,
      m: new Float32Array(a.length),
      v: new Float32Array(a.length),
      spec,
      setParams() {
        quantizer.state.params = this.params;
      },
    };
  });
  if (layers.length === 0) throw new Error('slb: no low-bit weight layer to retrain (every quantized layer is an 8-bit end)');
  let T = o.tStart,
    confidence = 0,
    adamStep = 0;
  const varIndex = new Map<string, number>();
  // assign() shares the new tensor's data; dropping the temporary keeps tensor counts flat.
  const write = (l: SlbLayer, values: Float32Array) => {
    const t = tf.tensor(values, l.shape, 'float32');
    l.kernel.assign(t);
    t.dispose();
  };
  return {
    beforeStep(t) {
      T = slbTemperature(o, t, ctx.epochs);
      let conf = 0;
      for (const l of layers) {
        const w = new Float32Array(l.a.length / l.levels.length);
        conf += slbSoft(l.a, l.levels, l.unit, T, w);
        write(l, w);
      }
      confidence = conf / layers.length;
    },
    gradients(vars, grads) {
      if (varIndex.size === 0) vars.forEach((v, i) => varIndex.set(v.name, i));
      const out = grads.slice();
      adamStep++;
      for (const l of layers) {
        const i = varIndex.get(l.kernel.name);
        if (i === undefined) throw new Error(`slb: kernel of ${l.name} is not a trained variable`);
        const g = grads[i].dataSync() as Float32Array;
        slbAdam(l.a, l.levels, l.unit, T, g, l.m, l.v, { lr: o.logitLr, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: adamStep });
        // The kernel is rewritten from the logits before the next step; its own update is moot.
        out[i] = tf.zerosLike(grads[i]) as Tensor;
      }
      return out;
    },
    afterStep(_t, global) {
      if ((global + 1) % ctx.stepsPerEpoch !== 0) return;
      // Epoch end: the hard choices on the frozen grid, which evaluation and checkpoints see.
      for (const l of layers) {
        const w = new Float32Array(l.a.length / l.levels.length);
        slbHard(l.a, l.levels, l.unit, w);
        write(l, w);
        l.setParams();
      }
    },
    status: () => `SLB T ${T.toFixed(1)}, confidence ${(100 * confidence).toFixed(1)}%`,
    epochMetrics: () => ({ slbTemperature: T, slbConfidence: confidence }),
    summary: (): SlbSummary & Record<string, unknown> => ({
      method: 'slb',
      options: o,
      layers: layers.map((l) => ({ name: l.name, weights: l.a.length / l.levels.length, values: l.levels.length })),
      logitBytes: layers.reduce((s, l) => s + 12 * l.a.length, 0),
      finalTemperature: T,
      finalConfidence: confidence,
    }),
    saveState: () => ({
      // The grid is fitted to the float weights once; a resumed run must not refit it to the hard ones.
      state: { T, adamStep, params: Object.fromEntries(layers.map((l) => [l.name, l.params])) },
      arrays: Object.fromEntries(
        layers.flatMap((l) => [
          [`slb/${l.name}/a`, l.a],
          [`slb/${l.name}/m`, l.m],
          [`slb/${l.name}/v`, l.v],
        ]),
      ),
    }),
    loadState(state, arrays) {
      const s = state as { T?: number; adamStep?: number; params?: Record<string, unknown> };
      T = s.T ?? T;
      adamStep = s.adamStep ?? 0;
      for (const l of layers) {
        const p = s.params?.[l.name];
        if (p === undefined) throw new Error(`slb: the checkpoint has no grid of ${l.name} to resume from`);
        const vs = valueSet(l.spec, p, l.shape[l.shape.length - 1], l.name);
        if (vs.levels.length !== l.levels.length)
          throw new Error(`slb: the grid of ${l.name} in the checkpoint has ${vs.levels.length} values`);
        l.params = p;
        l.levels.set(vs.levels);
        l.unit.set(vs.unit);
        l.setParams();
      }
      for (const l of layers)
        for (const k of ['a', 'm', 'v'] as const) {
          const arr = arrays[`slb/${l.name}/${k}`];
          if (!arr || arr.length !== l[k].length) throw new Error(`slb: the checkpoint has no ${k} of ${l.name} to resume from`);
          l[k].set(arr);
        }
    },
  };
}

/** What an SLB run reports: the value set per layer, the memory its logits took, and how hard its choices ended. */
export interface SlbSummary {
  method: 'slb';
  layers: { name: string; weights: number; values: number }[];
  logitBytes: number;
  finalTemperature: number;
  finalConfidence: number;
}

export const slbMethod = {
  options: slbOptionsSchema,
  name: 'slb',
  summary: 'searching for low-bit weights: per-weight logits over the grid values, softmax with a rising temperature, argmax at the end',
  retrains: true,
  weightFormats: 'any',
  quantizeConfig: standardConfig,
  start: startSlb,
  // The logits are SLB's known cost: say how much memory this run held for them.
  describe: (summary) => {
    const ss = summary as SlbSummary;
    return [
      `${ss.layers.length} layers searched over ${[...new Set(ss.layers.map((l) => l.values))].join('/')} values per weight; ` +
        `logits and their Adam moments took ${(ss.logitBytes / 2 ** 20).toFixed(1)} MiB; ` +
        `final temperature ${ss.finalTemperature.toFixed(1)}, mean top probability ${(100 * ss.finalConfidence).toFixed(1)}%`,
    ];
  },
} satisfies QuantMethod;
