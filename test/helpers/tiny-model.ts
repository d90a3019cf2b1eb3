// A tiny conv net and one quantization configuration per weight format, shared by the tests of
// the packed format, the runtime and the exports.
import { tf } from '../../src/engine/tf.js';
import type { QuantizeConfig } from '../../src/nn/quantize-model.js';
import { modelQuantizers } from '../../src/nn/quantizers.js';
import { QuantLayer } from '../../src/nn/quant-layer.js';
import { codeLayout, fromCentroids, type ProductCode } from '../../src/quant/product-blocks.js';
import { roundToHalf } from '../../src/util/half.js';
import type { KernelCode } from '../../src/quant/kernel-code.js';

export function tinyModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.inputLayer({ inputShape: [8, 8, 1], name: 'input' }));
  m.add(
    tf.layers.conv2d({
      name: 'conv1',
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(
    tf.layers.dense({
      name: 'fc1',
      units: 10,
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      biasInitializer: tf.initializers.randomNormal({ seed: 3 }),
    }),
  );
  return m;
}

const uint4 = { format: 'int', bits: 4, signed: false };
export const formatCases: [string, QuantizeConfig][] = [
  ['int4 per tensor', { weight: { format: 'int', bits: 4 }, activation: uint4 }],
  ['int3 per channel, MSE', { weight: { format: 'int', bits: 3, granularity: 'channel', calibration: 'mse' }, activation: uint4 }],
  ['int8 asymmetric', { weight: { format: 'int', bits: 8, symmetric: false }, activation: { format: 'int', bits: 8, signed: false } }],
  ['binary', { weight: { format: 'binary', granularity: 'channel' }, activation: null }],
  ['ternary', { weight: { format: 'ternary', granularity: 'channel' }, activation: null }],
  ['po2', { weight: { format: 'po2', bits: 4 }, activation: uint4 }],
  ['esb', { weight: { format: 'esb', bits: 4, k: 1, granularity: 'channel' }, activation: uint4 }],
  [
    'dybit weights and activations',
    { weight: { format: 'dybit', bits: 4, granularity: 'channel' }, activation: { format: 'dybit', bits: 4, signed: false } },
  ],
  ['mpq with flags', { weight: { format: 'mpq', bits: 3, granularity: 'channel' }, activation: uint4 }],
  ['lsq + pact', { weight: { format: 'lsq', bits: 3, granularity: 'channel' }, activation: { format: 'pact', bits: 3 } }],
];

/** One training-mode pass fits every quantizer (and initialises LSQ steps and PACT clips); MPQ gets every fifth weight flagged. */
export function fitQuantizers(model: tf.LayersModel, x: tf.Tensor): void {
  tf.tidy(() => void model.apply(x, { training: true }));
  for (const q of modelQuantizers(model))
    if (q.weight?.spec.format === 'mpq')
      q.weight.flags = Uint8Array.from({ length: q.layer.weights[0].shape.reduce((a: number, b) => a * (b ?? 1), 1) }, (_, i) =>
        i % 5 === 0 ? 1 : 0,
      );
}

/**
 * Gives every float-kernel quantized layer a random product code (k centroids, one input
 * channel per conv block, `fcBlock` inputs per dense block), writes the decoded kernels into
 * the model and returns the codes for packModel.
 */
export function randomProductCodes(model: tf.LayersModel, k: number, fcBlock: number, seed: number): Map<string, ProductCode> {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
  const out = new Map<string, ProductCode>();
  for (const l of model.layers) {
    if (!(l instanceof QuantLayer) || l.weightQ) continue;
    const kernel = l.weights[0].read();
    const shape = kernel.shape as number[];
    const layout = codeLayout(shape, 1, shape.length === 4 ? shape[0] * shape[1] : fcBlock, l.name);
    const kk = Math.min(k, layout.count);
    const centroids = roundToHalf(Float32Array.from({ length: kk * layout.d }, () => rnd() - 0.5));
    const assign = Uint32Array.from({ length: layout.count }, () => Math.floor(rnd() * kk));
    const w = fromCentroids(layout, centroids, assign, new Float32Array(kernel.size));
    l.weights[0].write(tf.tensor(w, shape));
    out.set(l.name, { m: 1, d: layout.d, centroids, assign });
  }
  return out;
}

/** Product codes as the kernel codes packModel and simulate take. */
export function asStored(codes: Map<string, ProductCode>): Map<string, KernelCode> {
  return new Map([...codes].map(([name, code]) => [name, { codec: 'product' as const, code }]));
}
