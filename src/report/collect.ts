// What `lowbit report` shows, read from run directories (train / quantize / demo runs: their
// checkpoint and metrics.json) and search results (a search's front.json, or an experiment's
// search record): accuracy, packed bits per weight, per-layer bit widths, weight histograms in
// units of each layer's grid step with the format's levels, the accelerator simulation per
// layer, and training curves.
import { existsSync, statSync } from 'node:fs';
import { readJsonFile } from '../util/read.js';
import path from 'node:path';
import type { tf } from '../engine/tf.js';
import { packCheckpoint, storedKernels } from '../deploy/pack-checkpoint.js';
import type { KernelCode } from '../quant/kernel-code.js';
import { storedForm } from '../deploy/codecs/registry.js';
import { runLabel } from '../train/methods/registry.js';
import { intGrid, sharedLevels } from '../quant/grid.js';
import { QuantLayer } from '../nn/quant-layer.js';
import { simulate } from '../hw/simulate.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { runStatus } from '../train/run-dir.js';
import type { FrontPoint } from '../search/search.js';

export interface CurvePoint {
  epoch: number;
  testAccuracy: number;
  trainLoss: number;
}

export interface LayerBits {
  layer: string;
  weightFormat: string;
  weightBits: number;
  activationBits: number | null;
}

export interface Histogram {
  layer: string;
  format: string;
  /** Bin centres and counts of weight / grid step (per channel). */
  bins: { x: number; count: number }[];
  /** The format's levels in grid steps (those inside the plotted range). */
  levels: number[];
}

export interface LayerCostRow {
  layer: string;
  latencyUs: number;
  energy: { part: string; uj: number }[];
}

export interface RunData {
  name: string;
  dir: string;
  quantized: boolean;
  method: string;
  accuracy: number | null;
  bitsPerWeight: number;
  packedBytes: number;
  curve: CurvePoint[];
  layers: LayerBits[];
  histograms: Histogram[];
  costs: LayerCostRow[];
  accelerator: string;
  speedupVsFp32: number;
  speedupVsInt8: number;
  energyVsFp32: number;
}

export interface SearchData {
  name: string;
  points: Pick<FrontPoint, 'kind' | 'budget' | 'accuracy' | 'latencyMs' | 'energyUj' | 'weightBytes' | 'speedupVsFp32' | 'speedupVsInt8'>[];
}

interface Metrics {
  history?: { epoch: number; testAccuracy: number; trainLoss: number }[];
  finalAccuracy?: number;
  options?: { method?: string; format?: string; wbits?: number; abits?: number };
}

const BINS = 81;

/** Weight / grid step for every weight of a layer, with the levels (null when channels differ). */
function histogram(layer: QuantLayer): Histogram | null {
  const q = layer.weightQ;
  if (!q) return null;
  const kernel = layer.getWeights()[0];
  const cout = kernel.shape[kernel.shape.length - 1];
  let grid;
  try {
    grid = intGrid(q.spec, layer.weightParams(), cout, `layer ${layer.name}`);
  } catch {
    return null;
  }
  const w = kernel.dataSync() as Float32Array;
  const lv = grid.levels[0];
  const lo = Math.min(...lv),
    hi = Math.max(...lv);
  // The grid's span plus a margin of two steps either side shows what clipping cut off.
  const x0 = lo - 2,
    x1 = hi + 2,
    width = (x1 - x0) / BINS;
  const counts = new Array<number>(BINS).fill(0);
  for (let i = 0; i < w.length; i++) {
    const c = grid.channels === 1 ? 0 : i % cout;
    const v = w[i] / grid.unit[c];
    counts[Math.max(0, Math.min(BINS - 1, Math.floor((v - x0) / width)))]++;
  }
  const shared = sharedLevels(grid);
  return {
    layer: layer.name,
    format: `${q.spec.format} ${(q.spec as { bits?: number }).bits ?? ''}`.trim(),
    bins: counts.map((count, i) => ({ x: x0 + (i + 0.5) * width, count })),
    levels: shared ? Array.from(new Set(shared)).sort((a, b) => a - b) : [],
  };
}

/** Each quantized layer's weight format and bits, from its kernel's weight codec (its own format, or the method's stored code). */
function layerBits(model: tf.LayersModel, stored: Map<string, KernelCode>): LayerBits[] {
  const out: LayerBits[] = [];
  for (const l of model.layers) {
    if (!(l instanceof QuantLayer)) continue;
    const code: KernelCode | undefined = l.weightQ ? { codec: 'format', spec: l.weightQ.spec } : stored.get(l.name);
    const form = code ? storedForm(code, l.weights[0].shape as number[]) : null;
    const as = l.inputQ?.spec as { bits?: number } | undefined;
    out.push({
      layer: l.name,
      weightFormat: form?.label ?? 'fp32',
      weightBits: form?.nominalBits ?? 32,
      activationBits: as ? (as.bits ?? null) : null,
    });
  }
  return out;
}

export async function collectRun(dir: string, accelerator: string): Promise<RunData> {
  const file = path.join(dir, 'checkpoint.lbck');
  if (!existsSync(file)) throw new Error(`${dir}: no checkpoint.lbck (expected a run directory of lowbit train, quantize or demo)`);
  const metricsFile = path.join(dir, 'metrics.json');
  const metrics = (existsSync(metricsFile) ? readJsonFile(metricsFile, 'the metrics of a run') : {}) as Metrics;
  const ck = await loadCheckpoint(file);
  const status = runStatus(ck.state);
  const quantized = ck.model.layers.some((l) => l instanceof QuantLayer && l.weightQ);
  const { report } = packCheckpoint(ck);
  const report0 = simulate(ck.model, accelerator, { stored: storedKernels(ck) });
  // A float network's own figures are those of the FP32 twin of the array (the FP32 baseline).
  const sim = quantized
    ? report0
    : {
        ...report0.baselines.fp32,
        speedupVsFp32: 1,
        energyRatioVsFp32: 1,
        speedupVsInt8: report0.baselines.int8.totals.latencyMs / report0.baselines.fp32.totals.latencyMs,
      };
  const history = metrics.history ?? [];
  const o = metrics.options;
  const method = o?.method ? runLabel({ ...o, method: o.method }) : quantized ? 'quantized' : 'fp32';
  const parts = ['compute', 'sram', 'dram', 'decoder'] as const;
  const histograms: Histogram[] = [];
  for (const l of ck.model.layers) {
    if (!(l instanceof QuantLayer)) continue;
    const h = histogram(l);
    if (h) histograms.push(h);
  }
  const data: RunData = {
    // An unfinished run is shown, but never passed off as a finished one.
    name: `${path.basename(path.resolve(dir))}${status.finished ? '' : ` (unfinished${status.epochs === null ? '' : `: ${status.done} of ${status.epochs} epochs`})`}`,
    dir,
    quantized,
    method,
    accuracy: metrics.finalAccuracy ?? history[history.length - 1]?.testAccuracy ?? null,
    bitsPerWeight: quantized ? report.bitsPerWeight : 32,
    packedBytes: report.bytes,
    curve: history.map((h) => ({ epoch: h.epoch, testAccuracy: h.testAccuracy, trainLoss: h.trainLoss })),
    layers: layerBits(ck.model, storedKernels(ck)),
    histograms,
    costs: sim.layers.map((c) => ({
      layer: c.name,
      latencyUs: (c.cycles / sim.totals.cycles) * sim.totals.latencyMs * 1000,
      energy: parts.map((p) => ({ part: p, uj: c.energyPj[p] / 1e6 })),
    })),
    accelerator: report0.accelerator,
    speedupVsFp32: sim.speedupVsFp32,
    speedupVsInt8: sim.speedupVsInt8,
    energyVsFp32: sim.energyRatioVsFp32,
  };
  ck.model.dispose();
  return data;
}

/** A search: a directory holding front.json, the file itself, or an experiment record with a front. */
export function collectSearch(p: string): SearchData {
  const file = statSync(p).isDirectory() ? path.join(p, 'front.json') : p;
  if (!existsSync(file)) throw new Error(`${p}: no front.json (expected the output directory of lowbit search)`);
  const raw = readJsonFile(file, 'a search front') as { points?: FrontPoint[]; front?: FrontPoint[]; id?: string } | null;
  const points = raw?.points ?? raw?.front;
  if (!Array.isArray(points)) throw new Error(`${file}: not a search front (no points)`);
  const fields = ['accuracy', 'latencyMs', 'energyUj', 'weightBytes', 'speedupVsFp32', 'speedupVsInt8'] as const;
  points.forEach((q, i) => {
    const bad = fields.find((f) => typeof q?.[f] !== 'number' || !Number.isFinite(q[f]));
    if (bad || typeof q.kind !== 'string')
      throw new Error(`${file}: point ${i} has no ${bad ?? 'kind'} (expected a front of lowbit search)`);
  });
  return {
    name: raw?.id ?? path.basename(path.dirname(path.resolve(file))),
    points: points.map((q) => ({
      kind: q.kind,
      budget: q.budget,
      accuracy: q.accuracy,
      latencyMs: q.latencyMs,
      energyUj: q.energyUj,
      weightBytes: q.weightBytes,
      speedupVsFp32: q.speedupVsFp32,
      speedupVsInt8: q.speedupVsInt8,
    })),
  };
}

/** Whether a path holds a search result rather than a training run. */
export function isSearch(p: string): boolean {
  if (!existsSync(p)) throw new Error(`${p} does not exist (expected a run directory or a search result)`);
  if (statSync(p).isDirectory()) return existsSync(path.join(p, 'front.json')) && !existsSync(path.join(p, 'checkpoint.lbck'));
  return p.endsWith('.json');
}
