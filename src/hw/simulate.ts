// A whole network on an accelerator: per-layer costs, totals, and the two baselines every figure
// is held against — the same network with 8-bit integers everywhere on the same accelerator
// (INT8), and the original float network on the same array built with float32 MAC units (FP32).
import type { tf } from '../engine/tf.js';
import { loadAccelerator, type Accelerator } from './config.js';
import { atUniformBits, describeModel, type HwLayer } from './from-model.js';
import type { KernelCode } from '../quant/kernel-code.js';
import { costLayer, type LayerCost } from './layer.js';

export interface Totals {
  macs: number;
  cycles: number;
  computeCycles: number;
  memoryCycles: number;
  latencyMs: number;
  energyUj: number;
  dramBytes: number;
  /** Bytes of all weights as stored. */
  weightBytes: number;
}

export interface Simulation {
  accelerator: string;
  batch: number;
  layers: LayerCost[];
  totals: Totals;
}

export interface SimulationReport extends Simulation {
  baselines: { int8: Simulation; fp32: Simulation };
  speedupVsInt8: number;
  energyRatioVsInt8: number;
  speedupVsFp32: number;
  energyRatioVsFp32: number;
}

/** Costs of the given layers on `accel` (layers are costed independently, run one after another). */
export function simulateLayers(layers: HwLayer[], accel: Accelerator): Simulation {
  const costs = layers.map((l) => costLayer(l.shape, l.precision, accel));
  const sum = (f: (c: LayerCost) => number) => costs.reduce((a, c) => a + f(c), 0);
  const cycles = sum((c) => c.cycles);
  const fp = accel.arithmetic === 'fp32';
  return {
    accelerator: accel.name,
    batch: layers[0]?.shape.batch ?? 1,
    layers: costs,
    totals: {
      macs: sum((c) => c.macs),
      cycles,
      computeCycles: sum((c) => c.computeCycles),
      memoryCycles: sum((c) => c.memoryCycles),
      latencyMs: (cycles / (accel.clockMHz * 1e6)) * 1e3,
      energyUj: sum((c) => c.energyPj.total) / 1e6,
      dramBytes: sum((c) => c.dramBytes.total),
      weightBytes: layers.reduce(
        (a, l) => a + (l.shape.kh * l.shape.kw * l.shape.inC * l.shape.outC * (fp ? 32 : l.precision.weightStorageBits)) / 8,
        0,
      ),
    },
  };
}

/**
 * The FP32 twin of an accelerator: the same array, clock, buffers, bandwidth and technology
 * with float32 MAC units — the "original model on the same array" every speedup is held against.
 */
export function fp32Twin(a: Accelerator): Accelerator {
  if (a.arithmetic === 'fp32') return a;
  return { ...a, name: `${a.name}-fp32`, arithmetic: 'fp32', brickBits: 32, bricksPerPe: 1, precisions: [32] };
}

/** The layers on `accel`, with the INT8 and FP32 baselines on the same array and the ratios against them. */
export function simulateWithBaselines(layers: HwLayer[], accel: Accelerator): SimulationReport {
  const sim = simulateLayers(layers, accel);
  // INT8 on the same accelerator; an FP32 array has no integer mode, so its INT8 is the INT8 preset.
  const int8Accel = accel.arithmetic === 'fp32' ? loadAccelerator('int8') : accel;
  const int8 = simulateLayers(atUniformBits(layers, 8), int8Accel);
  const fp32 = simulateLayers(layers, fp32Twin(accel));
  const report: SimulationReport = {
    ...sim,
    baselines: { int8, fp32 },
    speedupVsInt8: int8.totals.cycles / int8Accel.clockMHz / (sim.totals.cycles / accel.clockMHz),
    energyRatioVsInt8: int8.totals.energyUj / sim.totals.energyUj,
    speedupVsFp32: fp32.totals.latencyMs / sim.totals.latencyMs,
    energyRatioVsFp32: fp32.totals.energyUj / sim.totals.energyUj,
  };
  // The schema bounds every input; this guards the arithmetic itself: no NaN or infinity is ever reported.
  for (const [k, v] of Object.entries({ ...report.totals, ...pickRatios(report) }))
    if (!Number.isFinite(v)) throw new Error(`accelerator ${accel.name}: the cost model gives a non-finite ${k} (${v}) for this model`);
  return report;
}

function pickRatios(r: SimulationReport): Record<string, number> {
  return {
    speedupVsInt8: r.speedupVsInt8,
    energyRatioVsInt8: r.energyRatioVsInt8,
    speedupVsFp32: r.speedupVsFp32,
    energyRatioVsFp32: r.energyRatioVsFp32,
  };
}

/** simulate(model, accel): a quantized (or float) tfjs model on an accelerator preset, file or config. */
export function simulate(
  model: tf.LayersModel,
  accel: string | Accelerator,
  opts: { batch?: number; stored?: ReadonlyMap<string, KernelCode> } = {},
): SimulationReport {
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
  const a = typeof accel === 'string' ? loadAccelerator(accel) : accel;
  return simulateWithBaselines(describeModel(model, batch, opts.stored), a);
}
