// `pq`: product quantization minimizing the output reconstruction error ("And the Bit Goes
// Down", Stock et al. 2020; SPEC.md §3). Layer by layer (first conv and last FC stay int8 like
// every method's ends), the kernel is cut into subvectors (quant/product-blocks.ts: d = 9 or 18 for 3×3
// convs, 4 for FC) that share one codebook of k centroids, fitted by EM on the error weighted by
// the second moment of the layer's in-domain input blocks (pq-em.ts), the inputs taken from the
// network as already compressed. Between layers, and after the last for the rest of the
// retraining, the centroids (and every float parameter not yet compressed) are fine-tuned by
// distillation from the full-precision model: a centroid moves by the mean gradient of its
// subvectors (SGD with momentum at the retraining's learning rate). The kernels always hold the
// decoded centroids exactly. Storage: ⌈log2 k⌉/d bits per weight for the indices plus k·d fp16
// centroids per layer (productCodeBits, the packer's count).
import { z } from 'zod';
import { tf, type Tensor } from '../../engine/tf.js';
import { deriveSeed, makeRng } from '../../data/rng.js';
import { learningRate } from '../schedule.js';
import { sgdReference } from '../optimizer.js';
import { QConv2D } from '../../nn/qconv2d.js';
import type { MethodContext, MethodRun, QuantMethod } from './method.js';
import { activationSpec } from './method.js';
import { pqCluster, secondMoment } from './pq-em.js';
import { roundToHalf } from '../../util/half.js';
import {
  centroidGradients,
  convLayout,
  denseLayout,
  fromCentroids,
  sampleInputBlocks,
  toSubvectors,
  CODEBOOK_BITS,
  indexBits,
  productCodeBits,
  type BlockLayout,
  type ProductCode,
} from '../../quant/product-blocks.js';

export const pqOptionsSchema = z
  .object({
    /** Centroids per layer (at most the layer's subvectors). */
    k: z.number().int().min(2).max(65536).default(256).describe('centroids per layer'),
    /** Input channels per conv subvector: d = convChannels·kh·kw (9 or 18 for 3×3). */
    convChannels: z.number().int().min(1).max(64).default(1).describe('input channels per conv block, d = n·kh·kw'),
    /** Entries per dense subvector. */
    fcBlock: z.number().int().min(1).max(64).default(4).describe('entries per dense block'),
    /** EM iterations per layer. */
    iterations: z.number().int().min(1).max(1000).default(20).describe('EM iterations per layer'),
    /** Training images whose activations give the input blocks, and blocks sampled per layer. */
    calibrationImages: z.number().int().min(1).max(60000).default(256).describe('training images whose activations give the input blocks'),
    blocks: z.number().int().min(100).max(1_000_000).default(20000).describe('input blocks sampled per layer'),
    /** Distillation steps between two layers' clustering (fewer if the retraining is short). */
    layerSteps: z.number().int().min(0).max(1_000_000).default(100).describe('distillation steps between two layers'),
    /** Distill from the FP model (false: the labels' cross-entropy). */
    distill: z.boolean().default(true).describe('distill from the FP model (off: fine-tune on the labels)'),
    /** Momentum of the centroids' SGD. */
    momentum: z.number().min(0).max(0.999).default(0.9).describe("momentum of the centroids' SGD"),
  })
  .strict();

export type PqOptions = z.output<typeof pqOptionsSchema>;

interface PqLayer {
  name: string;
  kernel: tf.Variable;
  layout: BlockLayout;
  /** Set once the layer is clustered. */
  centroids: Float32Array | null;
  assign: Uint32Array | null;
  velocity: Float32Array | null;
  /** Σ-weighted error per subvector after EM (first and last iteration). */
  objective: [number, number] | null;
}

/** Index bits per weight, centroid bits per weight (fp16), for k centroids of d entries over n weights, as stored. */
export function pqBitsPerWeight(k: number, d: number, weights: number): { index: number; codebook: number } {
  return { index: indexBits(k) / d, codebook: (k * d * CODEBOOK_BITS) / weights };
}

function layoutOf(layer: tf.layers.Layer, kernel: tf.Variable, o: PqOptions): BlockLayout {
  const shape = kernel.shape as number[];
  if (shape.length === 4) {
    const c = layer instanceof QConv2D ? layer : null;
    if (!c) throw new Error(`pq: layer ${layer.name} has a 4-d kernel but is not a quantizable conv`);
    if (c.dilationRate[0] !== 1 || c.dilationRate[1] !== 1) throw new Error(`pq: layer ${layer.name} is dilated; pq cuts plain windows`);
    return convLayout(shape, o.convChannels, c.strides, c.padding, layer.name);
  }
  return denseLayout(shape, o.fcBlock, layer.name);
}

function startPq(ctx: MethodContext): MethodRun {
  const o = pqOptionsSchema.parse(ctx.options ?? {});
  if (o.distill && !ctx.teacher) throw new Error('pq: distillation needs the full-precision model as a teacher');
  if (!ctx.sampleInputs) throw new Error('pq: clustering needs in-domain training images');
  const byName = new Map(ctx.model.layers.map((l) => [l.name, l]));
  const layers: PqLayer[] = ctx.plan
    .filter((p) => !p.end && p.weight === null)
    .map((p) => {
      const layer = byName.get(p.name);
      if (!layer) throw new Error(`pq: layer ${p.name} of the plan is not in the model`);
      const kernel = layer.weights[0].read() as tf.Variable;
      return { name: p.name, kernel, layout: layoutOf(layer, kernel, o), centroids: null, assign: null, velocity: null, objective: null };
    });
  if (layers.length === 0) throw new Error('pq: no layer to compress (every conv/dense layer is an 8-bit end)');
  // The kernels kept as int8 (the ends) count at 8 bits in the whole-model figure.
  const endWeights = ctx.plan.filter((p) => p.end).reduce((s, p) => s + (byName.get(p.name)?.weights[0].read().size ?? 0), 0);
  const totalSteps = ctx.epochs * ctx.stepsPerEpoch;
  // Every layer is clustered within the first half of the retraining at most.
  const interval = Math.min(o.layerSteps, Math.floor(totalSteps / 2 / layers.length));
  let clustered = 0;
  const varIndex = new Map<string, number>();

  // The kernels hold the centroids as stored (fp16), so the packed model is the trained one.
  const write = (l: PqLayer) => {
    const w = fromCentroids(l.layout, roundToHalf(l.centroids!), l.assign!, new Float32Array(l.kernel.size));
    const t = tf.tensor(w, l.kernel.shape, 'float32');
    l.kernel.assign(t);
    t.dispose();
  };

  const cluster = (li: number) => {
    const l = layers[li];
    const layer = byName.get(l.name)!;
    // The layer's inputs in the network as compressed so far (inference mode).
    const sub = tf.model({ inputs: ctx.model.inputs, outputs: layer.input as tf.SymbolicTensor });
    const x = ctx.sampleInputs!(o.calibrationImages, deriveSeed(ctx.seed, 'pq-calibration', li));
    const act = tf.tidy(() => sub.apply(x, { training: false }) as Tensor);
    const blocks = sampleInputBlocks(
      l.layout,
      act.dataSync() as Float32Array,
      act.shape as number[],
      o.blocks,
      makeRng(deriveSeed(ctx.seed, 'pq-blocks', li)).next,
    );
    tf.dispose([x, act]);
    const r = pqCluster(toSubvectors(l.layout, l.kernel.dataSync() as Float32Array), l.layout.d, secondMoment(blocks, l.layout.d), {
      k: o.k,
      iterations: o.iterations,
      seed: deriveSeed(ctx.seed, 'pq-em', li),
    });
    l.centroids = r.centroids;
    l.assign = r.assign;
    l.velocity = new Float32Array(r.centroids.length);
    l.objective = [r.objective[0], r.objective[r.objective.length - 1]];
    write(l);
  };

  const done = () => layers.filter((l) => l.centroids);
  const weightsOf = (ls: PqLayer[]) => ls.reduce((s, l) => s + l.kernel.size, 0);
  const bits = (ls: PqLayer[]) =>
    ls.reduce((s, l) => {
      const k = l.centroids!.length / l.layout.d;
      return s + productCodeBits(l.layout.count, k, l.layout.d);
    }, 0);
  let lrNow = 0;

  return {
    beforeStep(t, global) {
      lrNow = learningRate(ctx.lr, t);
      while (clustered < layers.length && global >= clustered * interval) cluster(clustered++);
      // The optimizer's weight decay nudges the kernels; they are the decoded centroids again.
      for (const l of done()) write(l);
    },
    targets: o.distill ? (x) => tf.tidy(() => tf.softmax(ctx.teacher!.apply(x, { training: false }) as Tensor)) : undefined,
    gradients(vars, grads) {
      if (varIndex.size === 0) vars.forEach((v, i) => varIndex.set(v.name, i));
      const out = grads.slice();
      for (const l of done()) {
        const i = varIndex.get(l.kernel.name);
        if (i === undefined) throw new Error(`pq: kernel of ${l.name} is not a trained variable`);
        const k = l.centroids!.length / l.layout.d;
        const g = centroidGradients(l.layout, grads[i].dataSync() as Float32Array, l.assign!, k);
        sgdReference(l.centroids!, g, l.velocity!, l.centroids!, lrNow, o.momentum, 0, false);
        out[i] = tf.zerosLike(grads[i]) as Tensor;
      }
      return out;
    },
    afterStep(_t, global) {
      if ((global + 1) % ctx.stepsPerEpoch === 0) for (const l of done()) write(l);
    },
    status: () => `PQ ${clustered}/${layers.length} layers clustered`,
    epochMetrics: () => ({ pqLayers: clustered }),
    summary: (): PqSummary & Record<string, unknown> => {
      const ls = done();
      const w = weightsOf(ls);
      return {
        method: 'pq',
        options: o,
        layersClustered: ls.length,
        layers: layers.length,
        // Indices and fp16 codebooks of the compressed layers, per weight.
        bitsPerWeight: w ? bits(ls) / w : null,
        compressionVsFp32: w ? (32 * w) / bits(ls) : null,
        // All conv/dense kernels: product codes, the int8 ends at 8 bits (biases and batch norm not counted).
        modelCompressionVsFp32:
          ls.length === layers.length ? (32 * (weightsOf(layers) + endWeights)) / (bits(layers) + 8 * endWeights) : null,
        perLayer: ls.map((l) => {
          const k = l.centroids!.length / l.layout.d;
          const b = pqBitsPerWeight(k, l.layout.d, l.kernel.size);
          return {
            name: l.name,
            weights: l.kernel.size,
            d: l.layout.d,
            k,
            indexBitsPerWeight: b.index,
            codebookBitsPerWeight: b.codebook,
            objectiveFirst: l.objective![0],
            objectiveLast: l.objective![1],
          };
        }),
      };
    },
    saveState: () => ({
      state: { clustered, objectives: Object.fromEntries(done().map((l) => [l.name, l.objective])) },
      arrays: Object.fromEntries(
        done().flatMap((l) => [
          [`pq/${l.name}/centroids`, l.centroids!],
          // Indices below 2^24 are exact in float32.
          [`pq/${l.name}/assign`, Float32Array.from(l.assign!)],
          [`pq/${l.name}/velocity`, l.velocity!],
        ]),
      ),
    }),
    loadState(state, arrays) {
      const s = state as { clustered?: number; objectives?: Record<string, [number, number]> };
      clustered = s.clustered ?? 0;
      for (const l of layers.slice(0, clustered)) {
        const get = (k: string) => {
          const a = arrays[`pq/${l.name}/${k}`];
          if (!a) throw new Error(`pq: the checkpoint has no ${k} of ${l.name} to resume from`);
          return a;
        };
        const c = get('centroids'),
          a = get('assign'),
          v = get('velocity');
        if (a.length !== l.layout.count || c.length % l.layout.d || v.length !== c.length)
          throw new Error(
            `pq: the checkpoint's codebook of ${l.name} does not fit the layer's ${l.layout.count} subvectors of ${l.layout.d}`,
          );
        l.centroids = Float32Array.from(c);
        l.assign = Uint32Array.from(a);
        l.velocity = Float32Array.from(v);
        l.objective = s.objectives?.[l.name] ?? [NaN, NaN];
      }
    },
  };
}

/** What a PQ run reports: bits per weight of the product-coded layers, and each layer's code and output error. */
export interface PqSummary {
  method: 'pq';
  layersClustered: number;
  bitsPerWeight: number | null;
  compressionVsFp32: number | null;
  perLayer: {
    name: string;
    d: number;
    k: number;
    indexBitsPerWeight: number;
    codebookBitsPerWeight: number;
    objectiveFirst: number;
    objectiveLast: number;
  }[];
}

export const pqMethod = {
  options: pqOptionsSchema,
  name: 'pq',
  summary: 'product quantization: subvectors share k centroids fitted to keep the layer outputs, fine-tuned by distillation',
  retrains: true,
  weightFormats: [],
  // Float kernels that the method keeps equal to the decoded centroids; activations as chosen.
  quantizeConfig: (o) => ({ weight: null, activation: activationSpec(o), keepEndsAt8Bits: o.keepEnds, batchNorm: o.batchNorm }),
  start: startPq,
  storedKernels: (ck, shapes) => new Map([...productCodes(ck, shapes)].map(([name, code]) => [name, { codec: 'product' as const, code }])),
  describe: (summary) => {
    const ps = summary as PqSummary;
    if (ps.bitsPerWeight === null || ps.compressionVsFp32 === null) return [];
    return [
      `${ps.layersClustered} layers in product codes: ${ps.bitsPerWeight.toFixed(3)} bits per weight (indices and fp16 codebooks), ${ps.compressionVsFp32.toFixed(1)}x smaller than FP32`,
      ...ps.perLayer.map(
        (l) =>
          `${l.name.padEnd(14)} d ${l.d}, k ${l.k}: ${(l.indexBitsPerWeight + l.codebookBitsPerWeight).toFixed(3)} bits/weight; ` +
          `output error ${l.objectiveFirst.toExponential(2)} -> ${l.objectiveLast.toExponential(2)} over EM`,
      ),
    ];
  },
} satisfies QuantMethod;

/**
 * The product codes a pq checkpoint carries in its method state, by layer (empty for other
 * methods, and without the layers a run stopped before clustering).
 */
export function productCodes(
  ck: { state: Record<string, unknown>; arrays: Record<string, Float32Array> },
  kernelShapes: Map<string, number[]>,
): Map<string, ProductCode> {
  const out = new Map<string, ProductCode>();
  const opts = ck.state.options as { method?: string; pq?: unknown } | undefined;
  if (opts?.method !== 'pq') return out;
  const o = pqOptionsSchema.parse(opts.pq ?? {});
  for (const [name, shape] of kernelShapes) {
    const c = ck.arrays[`pq/${name}/centroids`],
      a = ck.arrays[`pq/${name}/assign`];
    if (!c || !a) continue;
    // (strides and padding do not change how a kernel is cut)
    const layout = shape.length === 4 ? convLayout(shape, o.convChannels, [1, 1], 'same', name) : denseLayout(shape, o.fcBlock, name);
    if (a.length !== layout.count || c.length % layout.d)
      throw new Error(`pq: the checkpoint's codebook of ${name} does not fit the layer's ${layout.count} subvectors of ${layout.d}`);
    out.set(name, { m: layout.m, d: layout.d, centroids: roundToHalf(c), assign: Uint32Array.from(a) });
  }
  return out;
}
