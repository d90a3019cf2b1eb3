// The cost of one conv/dense layer on an accelerator (SPEC.md §5): compute cycles from bit-brick
// composition and array utilisation, DRAM traffic from the cheapest tiling, SRAM traffic of a
// weight-stationary systolic dataflow, energy = compute + SRAM + DRAM (+ decoders), and latency
// = max(compute, memory) cycles.
import { energyTable, type Accelerator } from './config.js';
import { dramPjPerBit, intAddPj, intMultPj, sramPjPerBit } from './energy.js';
import { bytesOf, chooseTiling, type Tiling } from './tiling.js';
import { groupsOf, type LayerShape } from './layer-shape.js';

export type { LayerShape } from './layer-shape.js';

/** How a layer's numbers look to the hardware (from the formats' hardware descriptors). */
export interface LayerPrecision {
  /** Weight width the multiplier sees (DyBit: its r+1-bit mantissa; po2: a shift). */
  weightBits: number;
  /** Input activation width. */
  inputBits: number;
  /** Width the outputs are written at (the next layer's input width). */
  outputBits: number;
  /** Stored bits per weight (packed; MPQ extra bits and flag index included). */
  weightStorageBits: number;
  /** MPQ: share of weights with the extra bit, each costing one more brick pass. */
  flaggedShare: number;
  /** Decoder per weight fetched from the buffer (DyBit field decoder, po2/esb shifter, product-code codebook lookup). */
  decoder: 'none' | 'dybit' | 'shift' | 'codebook';
  /** Product codes: the layer's codebook in bits (a lookup table read once per weight fetch). */
  codebookBits?: number;
  /** Float weights or activations: described as 16-bit fixed point (an integer array has no float units). */
  float: boolean;
}

export interface LayerCost {
  name: string;
  kind: LayerShape['kind'];
  macs: number;
  /** Operand widths after rounding up to the array's precisions. */
  weightBits: number;
  inputBits: number;
  bricksPerMac: number;
  utilization: number;
  computeCycles: number;
  memoryCycles: number;
  cycles: number;
  bound: 'compute' | 'memory';
  dramBytes: Tiling['dram'];
  sramBits: { weights: number; inputs: number; outputs: number };
  energyPj: { compute: number; sram: number; dram: number; decoder: number; total: number };
  tiling: Omit<Tiling, 'dram'>;
}

/** Width of float operands on an integer array. */
export const FLOAT_ON_INT_BITS = 16;

/** The narrowest supported precision at least `bits` wide (the widest one if none is). */
export function roundToPrecision(bits: number, precisions: readonly number[]): number {
  return precisions.find((p) => p >= bits) ?? precisions[precisions.length - 1];
}

/** Energy of decoding one fetched weight: field logic (DyBit: two adders, shifters: one), or a read of the codebook's table. */
function decoderPjPerFetch(p: LayerPrecision, t: ReturnType<typeof energyTable>): number {
  if (p.decoder === 'codebook') return p.weightBits * sramPjPerBit(t, Math.max(1, p.codebookBits ?? 0) / 8 / 1024);
  return (p.decoder === 'dybit' ? 2 : 1) * intAddPj(t, p.weightBits + 1);
}

export function costLayer(s: LayerShape, p: LayerPrecision, a: Accelerator): LayerCost {
  const t = energyTable(a.energyTable);
  const fp = a.arithmetic === 'fp32';
  // Operands wider than the widest precision keep their width (temporal passes).
  const widen = (b: number) => (fp ? 32 : Math.max(roundToPrecision(b, a.precisions), b));
  const w = widen(p.weightBits),
    x = widen(p.inputBits);
  const wb = Math.ceil(w / a.brickBits),
    xb = Math.ceil(x / a.brickBits);
  const bricks = fp ? 1 : wb * xb;
  // MPQ: flagged weights take one more brick pass (one more weight brick per activation brick).
  const extra = fp ? 0 : p.flaggedShare * xb;
  // K: the reduction of one output; a depthwise layer is `groups` GEMMs of N / groups outputs each.
  const { groups, K } = groupsOf(s);
  const N = s.outC,
    P = s.batch * s.outH * s.outW;
  const macs = K * N * P;
  // MACs a PE does per cycle: its bricks split among narrow multiplies; wide ones take passes.
  const perPe = bricks <= a.bricksPerPe ? Math.floor(a.bricksPerPe / bricks) : 1;
  const passes = bricks <= a.bricksPerPe ? 1 : Math.ceil(bricks / a.bricksPerPe);
  // Reduction along the rows (each PE's lanes extend them), output channels along the columns. A
  // depthwise group's inputs feed only its own outputs, so the groups take the array in turn: a
  // 3×3 window fills 9 rows and m columns of it, which is why such layers map badly.
  const rowTiles = Math.ceil(K / (a.array.rows * perPe)),
    colTiles = Math.ceil(N / groups / a.array.cols);
  const baseCycles = groups * rowTiles * colTiles * P * passes;
  const computeCycles = baseCycles * (1 + extra / bricks);
  const utilization = macs / (groups * rowTiles * a.array.rows * perPe * colTiles * a.array.cols * P);

  const acc = a.accumulatorBits;
  const store = {
    weight: fp ? 32 : p.weightStorageBits,
    input: fp ? 32 : p.inputBits,
    output: fp ? 32 : p.outputBits,
    accumulator: acc,
  };
  const sram = { weights: a.sramKB.weights * 1024, activations: a.sramKB.activations * 1024, outputs: a.sramKB.outputs * 1024 };
  const tiling = chooseTiling(s, store, sram);
  const bytesPerCycle = (a.dramGBps * 1e9) / (a.clockMHz * 1e6);
  const memoryCycles = tiling.dram.total / bytesPerCycle;

  // Weight-stationary dataflow: weights enter the array once per row tile of outputs, each
  // input window is read once per column tile, partial sums are read and written once per
  // reduction tile; every byte from DRAM is also written into its buffer once.
  const weightCount = K * N;
  const sramBits = {
    weights: weightCount * store.weight * tiling.hTiles + tiling.dram.weights * 8,
    inputs: P * K * groups * store.input * colTiles + tiling.dram.inputs * 8,
    outputs: P * N * acc * Math.max(1, 2 * rowTiles - 1) + P * N * store.output,
  };
  const macPj = fp
    ? t.fp32Mult.pj + t.fp32Add.pj
    : // bit-brick products, the shift-add tree that fuses them (at the mean partial width), the accumulation
      (bricks + extra) * intMultPj(t, a.brickBits) + Math.max(0, bricks + extra - 1) * intAddPj(t, (w + x) / 2) + intAddPj(t, acc);
  const weightFetches = weightCount * tiling.hTiles;
  const decoderPj = fp || p.decoder === 'none' ? 0 : weightFetches * decoderPjPerFetch(p, t);
  const energy = {
    compute: macs * macPj,
    sram:
      sramBits.weights * sramPjPerBit(t, a.sramKB.weights) +
      sramBits.inputs * sramPjPerBit(t, a.sramKB.activations) +
      sramBits.outputs * sramPjPerBit(t, a.sramKB.outputs),
    dram: tiling.dram.total * 8 * dramPjPerBit(t),
    decoder: decoderPj,
    total: 0,
  };
  energy.total = energy.compute + energy.sram + energy.dram + energy.decoder;
  const { dram, ...tilingInfo } = tiling;
  return {
    name: s.name,
    kind: s.kind,
    macs,
    weightBits: w,
    inputBits: x,
    bricksPerMac: bricks + extra,
    utilization,
    computeCycles,
    memoryCycles,
    cycles: Math.max(computeCycles, memoryCycles),
    bound: computeCycles >= memoryCycles ? 'compute' : 'memory',
    dramBytes: dram,
    sramBits,
    energyPj: energy,
    tiling: tilingInfo,
  };
}

/** Unique bytes a layer must move at least once: every weight and output, and the inputs its windows touch. */
export function uniqueBytes(s: LayerShape, p: LayerPrecision): number {
  // Rows (columns) under some window: overlapping windows span a band; a stride wider than the kernel skips rows.
  const touched = (out: number, stride: number, k: number, size: number) => Math.min(size, stride >= k ? out * k : (out - 1) * stride + k);
  const rows = touched(s.outH, s.strideH, s.kh, s.inH),
    cols = touched(s.outW, s.strideW, s.kw, s.inW);
  return (
    bytesOf(groupsOf(s).K * s.outC, p.weightStorageBits) +
    bytesOf(s.batch * rows * cols * s.inC, p.inputBits) +
    bytesOf(s.batch * s.outH * s.outW * s.outC, p.outputBits)
  );
}
