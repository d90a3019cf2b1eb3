// Valid packed files of every kind (int, MPQ with both flag indexes, DyBit, LSQ/PACT, product
// codes) and a hostile JSON mutator: the material of the packed-file fuzz tests.
import { tf } from '../../src/engine/tf.js';
import type { makeRng } from '../../src/data/rng.js';
import { packModel } from '../../src/deploy/pack.js';
import { quantizeModel, type QuantizeConfig } from '../../src/nn/quantize-model.js';
import { modelQuantizers } from '../../src/nn/quantizers.js';
import { randomProductCodes, asStored } from './tiny-model.js';

export async function validFiles(): Promise<Uint8Array[]> {
  const configs: QuantizeConfig[] = [
    { weight: { format: 'int', bits: 4, granularity: 'channel' }, activation: { format: 'int', bits: 4, signed: false } },
    { weight: { format: 'mpq', bits: 2, granularity: 'channel' }, activation: { format: 'int', bits: 4, signed: false } },
    { weight: { format: 'dybit', bits: 3 }, activation: { format: 'dybit', bits: 3, signed: false } },
    { weight: { format: 'lsq', bits: 2 }, activation: { format: 'pact', bits: 2 } },
  ];
  const x = tf.randomNormal([4, 6, 6, 1], 0, 1, 'float32', 1);
  const out: Uint8Array[] = [];
  for (const [i, cfg] of configs.entries()) {
    const m = tf.sequential();
    m.add(tf.layers.inputLayer({ inputShape: [6, 6, 1], name: 'input' }));
    m.add(tf.layers.conv2d({ name: 'conv1', filters: 3, kernelSize: 3, activation: 'relu' }));
    m.add(tf.layers.flatten({ name: 'flatten' }));
    m.add(tf.layers.dense({ name: 'fc1', units: 4 }));
    const { model } = await quantizeModel(m, { ...cfg, keepEndsAt8Bits: false });
    tf.tidy(() => void model.apply(x, { training: true }));
    // Sparse flags (Rice index) on one MPQ layer, dense (bitmap) on the other.
    for (const q of modelQuantizers(model))
      if (q.weight?.spec.format === 'mpq') {
        const n = q.layer.weights[0].shape.reduce((a: number, b) => a * (b ?? 1), 1);
        q.weight.flags = Uint8Array.from({ length: n }, (_, j) => (q.layer.name === 'conv1' ? (j % 2 ? 1 : 0) : j === 5 ? 1 : 0));
      }
    out.push(packModel(model, { case: i }).bytes);
  }
  // Float kernels held as product codes (pq): fp16 codebooks and packed indices.
  const m = tf.sequential();
  m.add(tf.layers.inputLayer({ inputShape: [6, 6, 1], name: 'input' }));
  m.add(tf.layers.conv2d({ name: 'conv1', filters: 3, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ name: 'fc1', units: 4 }));
  const { model } = await quantizeModel(m, { weight: null, activation: null, keepEndsAt8Bits: false });
  out.push(packModel(model, { case: 'pq' }, asStored(randomProductCodes(model, 5, 4, 9))).bytes);
  return out;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A random hostile change somewhere in the manifest. */
export function mutate(v: Json, rng: ReturnType<typeof makeRng>, depth = 0): Json {
  const hostile: Json[] = [
    -1,
    0,
    1,
    3,
    17,
    255,
    65536,
    2 ** 31,
    2 ** 53,
    -(2 ** 40),
    0.5,
    NaN as unknown as Json,
    'x',
    '',
    null,
    [],
    {},
    true,
  ];
  if (Array.isArray(v)) {
    if (v.length === 0 || rng.next() < 0.15) return rng.next() < 0.5 ? [...v, v[0] ?? 1] : v.slice(1);
    const i = rng.int(v.length);
    if (rng.next() < 0.1) return [...v.slice(0, i), ...v.slice(i + 1)];
    const c = v.slice();
    c[i] = mutate(v[i], rng, depth + 1);
    return c;
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return hostile[rng.int(hostile.length)];
    const k = keys[rng.int(keys.length)];
    const c = { ...v };
    if (rng.next() < 0.1) delete c[k];
    else c[k] = mutate(v[k], rng, depth + 1);
    return c;
  }
  if (typeof v === 'number' && rng.next() < 0.5) return v + (rng.int(5) - 2);
  return hostile[rng.int(hostile.length)];
}
