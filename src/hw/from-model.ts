// What the accelerator model needs of a tfjs model: each layer's shape from its op's `cost`
// (deploy/layers/*.ts) and how its numbers look to the hardware, from its kernel's weight codec
// (deploy/codecs/*.ts: a format's storage and hardware descriptor, or a product code's indices and
// codebook) — never a second description of either.
import type { tf } from '../engine/tf.js';
import { dims } from '../models/macs.js';
import { QuantLayer } from '../nn/quant-layer.js';
import type { KernelCode } from '../quant/kernel-code.js';
import { FLOAT_ON_INT_BITS, type LayerPrecision, type LayerShape } from './layer.js';
import { opOf, type LayerOp } from '../deploy/layers/registry.js';
import { storedForm } from '../deploy/codecs/registry.js';

export { storageBits } from '../deploy/codecs/format-codes.js';

export interface HwLayer {
  shape: LayerShape;
  precision: LayerPrecision;
}

/**
 * The layers the accelerator computes of a (quantized or float) model, in order, for `batch`
 * examples. Each kernel's numbers come from its weight codec's stored form: the layer's own weight
 * format, or a code from `stored` (a method's own form, e.g. pq's product codes).
 */
export function describeModel(model: tf.LayersModel, batch = 1, stored: ReadonlyMap<string, KernelCode> = new Map()): HwLayer[] {
  // The layers the accelerator computes: those whose op declares a cost; the rest are free.
  const found: { layer: tf.layers.Layer; cost: NonNullable<LayerOp['cost']> }[] = [];
  for (const layer of model.layers) {
    const cost = opOf(layer.getClassName())?.cost;
    if (cost) found.push({ layer, cost });
  }
  if (found.length === 0) throw new Error('the model has no conv or dense layer to simulate');
  const inputBits = (l: tf.layers.Layer): number | null => (l instanceof QuantLayer && l.inputQ ? l.inputQ.spec.bits : null);
  return found.map(({ layer, cost }, i) => {
    const input = layer.input as tf.SymbolicTensor | tf.SymbolicTensor[];
    const kernel = layer.weights[0].shape as number[];
    const shape = cost({
      name: layer.name,
      batch,
      kernel,
      input: dims((Array.isArray(input) ? input[0] : input).shape),
      output: dims(layer.outputShape),
      config: layer.getConfig() as Record<string, unknown>,
    });
    const wq = layer instanceof QuantLayer ? layer.weightQ : null;
    if (wq && stored.has(layer.name)) throw new Error(`layer ${layer.name} has both a weight format and a stored code`);
    const code: KernelCode | undefined = wq ? { codec: 'format', spec: wq.spec, flags: wq.flags ?? null } : stored.get(layer.name);
    const form = code ? storedForm(code, kernel) : null;
    const aBits = inputBits(layer);
    const next = found[i + 1];
    const nextBits = next ? inputBits(next.layer) : null;
    const precision: LayerPrecision = {
      weightBits: form?.multiplierBits ?? FLOAT_ON_INT_BITS,
      inputBits: aBits ?? FLOAT_ON_INT_BITS,
      // The last layer writes accumulator-width logits; a float next layer reads 16-bit fixed point on integer arrays.
      outputBits: next ? (nextBits ?? FLOAT_ON_INT_BITS) : 32,
      weightStorageBits: form?.bitsPerWeight ?? FLOAT_ON_INT_BITS,
      flaggedShare: form?.flaggedShare ?? 0,
      decoder: form?.decoder ?? 'none',
      ...(form?.codebookBits !== undefined ? { codebookBits: form.codebookBits } : {}),
      float: form?.multiplierBits == null || aBits === null,
    };
    return { shape, precision };
  });
}

/** The same layers with every tensor at `bits` integers (the INT8 baseline). */
export function atUniformBits(layers: HwLayer[], bits: number): HwLayer[] {
  return layers.map((l, i) => ({
    shape: l.shape,
    precision: {
      weightBits: bits,
      inputBits: bits,
      outputBits: i === layers.length - 1 ? 32 : bits,
      weightStorageBits: bits,
      flaggedShare: 0,
      decoder: 'none',
      float: false,
    },
  }));
}
