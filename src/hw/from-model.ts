// What the accelerator model needs of a tfjs model: each conv/dense layer's shape and how its
// numbers look to the hardware, read from the formats' declared storage and hardware
// descriptors (never a second description of a format).
import type { tf } from '../engine/tf.js';
import { dims } from '../models/macs.js';
import { QuantLayer } from '../nn/quant-layer.js';
import { formatOf, type FormatSpec } from '../quant/registry.js';
import { mpqBitsPerWeight } from '../quant/mpq.js';
import { CODEBOOK_BITS, productCodeBits } from '../quant/product-blocks.js';
import { FLOAT_ON_INT_BITS, type LayerPrecision, type LayerShape } from './layer.js';
import { opOf, type LayerOp } from '../deploy/layers/registry.js';

export interface HwLayer {
  shape: LayerShape;
  precision: LayerPrecision;
}

/** A layer kept in a stored form of its own rather than a format (product codes): what the hardware fetches. */
export interface StoredCode {
  /** Stored bits per weight (indices and the layer's share of its codebook). */
  bitsPerWeight: number;
  /** The codebook's size in bits (decoded by a table lookup per weight fetch). */
  codebookBits: number;
}

/** The stored form of `count` subvectors of d weights coded by a k-entry codebook. */
export function productStoredCode(count: number, k: number, d: number): StoredCode {
  return { bitsPerWeight: productCodeBits(count, k, d) / (count * d), codebookBits: k * d * CODEBOOK_BITS };
}

/** Stored bits per weight of a format (MPQ: with the flags' extra bits and index). */
export function storageBits(spec: FormatSpec, flags: Uint8Array | null): number {
  const st = formatOf(spec).storage(spec as never);
  switch (st.kind) {
    case 'fixed':
      return st.bitsPerValue;
    case 'mpq':
      return flags ? mpqBitsPerWeight(st.baseBits, flags) : st.baseBits;
    default: {
      const never: never = st;
      throw new Error(`unknown storage ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The conv/dense layers of a (quantized or float) model, in order, for `batch` examples; `codes`
 * names the layers stored as product codes (float arithmetic on the decoded fp16 weights, fetched
 * at their packed size).
 */
export function describeModel(model: tf.LayersModel, batch = 1, codes: ReadonlyMap<string, StoredCode> = new Map()): HwLayer[] {
  // The layers the accelerator computes: those whose op declares a cost (layers/*.ts); the rest are free.
  const found: { layer: tf.layers.Layer; cost: NonNullable<LayerOp['cost']> }[] = [];
  for (const layer of model.layers) {
    const cost = opOf(layer.getClassName())?.cost;
    if (cost) found.push({ layer, cost });
  }
  if (found.length === 0) throw new Error('the model has no conv or dense layer to simulate');
  const inputBits = (l: tf.layers.Layer): number | null => (l instanceof QuantLayer && l.inputQ ? l.inputQ.spec.bits : null);
  return found.map(({ layer, cost }, i) => {
    const input = layer.input as tf.SymbolicTensor | tf.SymbolicTensor[];
    const shape = cost({
      name: layer.name,
      batch,
      kernel: layer.weights[0].shape as number[],
      input: dims((Array.isArray(input) ? input[0] : input).shape),
      output: dims(layer.outputShape),
      config: layer.getConfig() as Record<string, unknown>,
    });
    const wq = layer instanceof QuantLayer ? layer.weightQ : null;
    const hw = wq ? formatOf(wq.spec).hardware(wq.spec as never) : null;
    const flags = wq?.flags ?? null;
    const aBits = inputBits(layer);
    const next = found[i + 1];
    const nextBits = next ? inputBits(next.layer) : null;
    const code = codes.get(layer.name);
    if (code && wq) throw new Error(`layer ${layer.name} has both a weight format and a product code`);
    const precision: LayerPrecision = {
      weightBits: hw ? hw.multiplierBits : FLOAT_ON_INT_BITS,
      inputBits: aBits ?? FLOAT_ON_INT_BITS,
      // The last layer writes accumulator-width logits; a float next layer reads 16-bit fixed point on integer arrays.
      outputBits: next ? (nextBits ?? FLOAT_ON_INT_BITS) : 32,
      weightStorageBits: wq ? storageBits(wq.spec, flags) : (code?.bitsPerWeight ?? FLOAT_ON_INT_BITS),
      flaggedShare: hw?.extraPassForFlagged && flags ? flags.reduce((a, f) => a + f, 0) / flags.length : 0,
      decoder: hw ? hw.decoder : code ? 'codebook' : 'none',
      ...(code ? { codebookBits: code.codebookBits } : {}),
      float: !wq || aBits === null,
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
