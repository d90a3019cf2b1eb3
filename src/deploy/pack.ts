// Packing a quantized tfjs model into a .lowbit file (SPEC.md §6): every quantized kernel as
// integer codes bit-packed at its format's storage width (read from the format definition),
// MPQ kernels as base codes plus the flag index and the flagged weights' extra bits in sections
// of their own, float parameters (biases, batch norm, unquantized layers) as float32 sections,
// and a JSON manifest of the layers with their configuration and quantizer parameters.
import { datasetInfo, datasetNames } from '../data/datasets.js';
import type { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import { QAct } from '../nn/qact.js';
import { formatOf, type FormatSpec } from '../quant/registry.js';
import type { MpqParams } from '../quant/mpq.js';
import { packBits, packedBytes } from './bitpack.js';
import { writeContainer } from './container.js';
import type { LayerEntry, Manifest, TensorEntry } from './manifest.js';
import { layerClassNames, opOf } from './layers/registry.js';
import { encodeFlags } from './rice.js';
import { codeLayout, fromCentroids, indexBits, productCodeBits, type ProductCode } from '../quant/product-blocks.js';
import { toHalf } from '../util/half.js';

export interface PackReport {
  bytes: number;
  manifestBytes: number;
  /** Bytes of the tensor sections. */
  tensorBytes: number;
  /** Weights of the conv/dense kernels. */
  weights: number;
  /** Stored bits per kernel weight, over all kernels (MPQ extras and flag index included). */
  bitsPerWeight: number;
  /** Bytes of float parameters (biases, batch norm, scales live in the manifest). */
  floatBytes: number;
  /** The same model with float32 kernels and parameters, and with int8 kernels. */
  fp32Bytes: number;
  int8Bytes: number;
  compressionVsFp32: number;
  compressionVsInt8: number;
}

/** Quantizer parameters without MPQ flags (stored as their own section), JSON-safe. */
function jsonParams(p: unknown): unknown {
  if (p && typeof p === 'object' && 'flags' in p) {
    const { flags: _flags, ...rest } = p as MpqParams;
    return rest;
  }
  return p;
}

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes?: unknown[][];
}

/** Layers of the model's topology in order, each with the names of the layers it reads. */
function topologyLayers(model: tf.LayersModel): { layers: (LayerJson & { inbound: string[] })[]; outputs: string[] } {
  const t = model.toJSON(null, false) as unknown as { class_name: string; config: { layers: LayerJson[]; output_layers?: unknown[][] } };
  const ls = t.config.layers;
  if (t.class_name === 'Sequential') {
    // A Sequential model built from an inputShape on its first layer keeps its input layer
    // hidden (not in toJSON, not in model.layers); the packed graph names it explicitly.
    const hidden: LayerJson[] =
      ls[0]?.class_name === 'InputLayer'
        ? []
        : [
            {
              class_name: 'InputLayer',
              config: {
                name: model.inputLayers[0]?.name ?? 'input',
                batch_input_shape: model.inputs[0].shape,
                dtype: 'float32',
                sparse: false,
              },
            },
          ];
    const all = [...hidden, ...ls];
    return {
      layers: all.map((l, i) => ({ ...l, inbound: i === 0 ? [] : [all[i - 1].config.name] })),
      outputs: [all[all.length - 1].config.name],
    };
  }
  return {
    layers: ls.map((l) => ({ ...l, inbound: ((l.inbound_nodes?.[0] ?? []) as unknown[][]).map((n) => String(n[0])) })),
    outputs: (t.config.output_layers ?? []).map((o) => String(o[0])),
  };
}

export function packModel(
  model: tf.LayersModel,
  modelSpec: Record<string, unknown> = {},
  /** Float kernels held as product codes (pq), by layer. */
  codes: Map<string, ProductCode> = new Map(),
): { bytes: Uint8Array; manifest: Manifest; report: PackReport } {
  const topology = topologyLayers(model);
  const jsonLayers = new Map(topology.layers.map((l) => [l.config.name, l]));
  const sections: Uint8Array[] = [];
  const tensors: TensorEntry[] = [];
  const addSection = (b: Uint8Array) => (sections.push(b), sections.length); // section indices start at 1
  const addFloat = (n: string, t: tf.Tensor) => {
    const v = Float32Array.from(t.dataSync() as Float32Array);
    tensors.push({ name: n, encoding: 'float32', section: addSection(new Uint8Array(v.buffer)), shape: t.shape as number[] });
    return n;
  };
  let weights = 0,
    kernelBits = 0,
    floatBytes = 0;
  const layers: LayerEntry[] = [];
  const first = topology.layers[0];
  if (first && !model.layers.some((l) => l.name === first.config.name))
    layers.push({ name: first.config.name, className: 'InputLayer', inbound: [], config: { ...first.config }, tensors: {} });
  for (const layer of model.layers) {
    const className = layer.getClassName();
    const op = opOf(className);
    if (!op)
      throw new Error(
        `pack: layer ${layer.name} is a ${className}, which the packed format does not support (supported: ${layerClassNames().join(', ')})`,
      );
    const lj = jsonLayers.get(layer.name);
    if (!lj) throw new Error(`pack: layer ${layer.name} is not in the model's topology`);
    // The serialised (Keras-style) configuration, without the quantizer states (their parameters are stored apart).
    // Quantizer specs and states live in weightQuant / inputQuant (one copy each).
    const { weight_state: _w, input_state: _i, state: _s, weight_quant: _wq, input_quant: _iq, quant: _q, ...all } = lj.config;
    // Initializers, regularizers and constraints only matter for training from scratch.
    const config = Object.fromEntries(Object.entries(all).filter(([k]) => !/_(initializer|regularizer|constraint)$/.test(k)));
    const entry: LayerEntry = {
      name: layer.name,
      className,
      inbound: lj.inbound,
      config,
      tensors: {},
    };
    const ws = layer.getWeights();
    // The tensors the op stores, by role in its tfjs weights' order; a quantized layer's learned
    // quantizer parameters (LSQ steps, PACT clips) follow and are stored with its quantizers.
    const roles = op.weightRoles?.(lj.config) ?? [];
    const mayLearn = layer instanceof QuantLayer || layer instanceof QAct;
    if (mayLearn ? ws.length < roles.length : ws.length !== roles.length)
      throw new Error(`pack: layer ${layer.name} (${className}) has ${ws.length} weights; the packed format stores ${roles.length} for it`);
    roles.forEach((role, i) => {
      if (role !== 'kernel') {
        entry.tensors[role] = addFloat(`${layer.name}/${role}`, ws[i]);
        floatBytes += ws[i].size * 4;
        return;
      }
      const kernel = ws[i];
      weights += kernel.size;
      const wq = layer instanceof QuantLayer ? layer.weightQ : null;
      if (wq && layer instanceof QuantLayer) {
        const params = layer.weightParams();
        const k = packKernel(`${layer.name}/kernel`, kernel, wq.spec, params, addSection, tensors);
        kernelBits += k.bits;
        Object.assign(entry.tensors, k.roles);
        entry.weightQuant = { spec: wq.spec as unknown as Record<string, unknown>, params: jsonParams(params) };
      } else if (codes.has(layer.name)) {
        if (!op.quantizers?.weight) throw new Error(`pack: layer ${layer.name} (${className}) cannot hold a product code`);
        const k = packProductCode(`${layer.name}/kernel`, kernel, codes.get(layer.name)!, addSection, tensors);
        kernelBits += k.bits;
        Object.assign(entry.tensors, k.roles);
      } else {
        entry.tensors.kernel = addFloat(`${layer.name}/kernel`, kernel);
        kernelBits += 32 * kernel.size;
      }
    });
    if (layer instanceof QuantLayer && layer.inputQ)
      entry.inputQuant = { spec: layer.inputQ.spec as unknown as Record<string, unknown>, params: jsonParams(layer.inputParams()) };
    if (layer instanceof QAct)
      entry.inputQuant = { spec: layer.q.spec as unknown as Record<string, unknown>, params: jsonParams(layer.params()) };
    layers.push(entry);
  }
  const inputShape = (model.inputs[0].shape.slice(1) as (number | null)[]).map((d) => d ?? 1);
  const ds =
    typeof modelSpec.dataset === 'string' && datasetNames.includes(modelSpec.dataset as never) ? datasetInfo(modelSpec.dataset) : null;
  const manifest: Manifest = {
    format: 'lowbit-packed',
    version: 1,
    createdBy: 'lowbit',
    modelSpec,
    inputShape,
    ...(ds ? { input: { dataset: ds.name, mean: ds.mean, std: ds.std } } : {}),
    layers,
    outputs: topology.outputs,
    tensors,
  };
  const bytes = writeContainer(manifest, sections);
  const tensorBytes = sections.reduce((a, s) => a + s.length, 0);
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest)).length;
  const fp32Bytes = weights * 4 + floatBytes;
  const int8Bytes = weights + floatBytes;
  return {
    bytes,
    manifest,
    report: {
      bytes: bytes.length,
      manifestBytes,
      tensorBytes,
      weights,
      bitsPerWeight: weights ? kernelBits / weights : 0,
      floatBytes,
      fp32Bytes,
      int8Bytes,
      compressionVsFp32: fp32Bytes / bytes.length,
      compressionVsInt8: int8Bytes / bytes.length,
    },
  };
}

/** Packs one quantized kernel; returns its tensor roles and stored bits. */
function packKernel(
  name: string,
  kernel: tf.Tensor,
  spec: FormatSpec,
  params: unknown,
  addSection: (b: Uint8Array) => number,
  tensors: TensorEntry[],
): { roles: Record<string, string>; bits: number } {
  const def = formatOf(spec);
  const x = kernel.dataSync() as Float32Array;
  const shape = kernel.shape as number[];
  const codes = def.encode(x, shape, spec as never, params as never);
  const [lo, hi] = def.codeRange(spec as never);
  const storage = def.storage(spec as never);
  if (storage.kind === 'fixed') {
    const bits = storage.bitsPerValue;
    if (hi - lo >= 2 ** bits) throw new Error(`pack: ${spec.format} codes ${lo}..${hi} do not fit its ${bits} storage bits`);
    const stored = Uint16Array.from(codes, (c) => c - lo);
    tensors.push({ name, encoding: 'codes', section: addSection(packBits(stored, bits)), shape, bits, offset: lo, max: hi - lo });
    return { roles: { kernel: name }, bits: bits * x.length };
  }
  // MPQ: fine-grid code j = 2·base + extra; base codes at b bits, the flags' index and extra bits apart.
  const flags = (params as MpqParams).flags ?? new Uint8Array(x.length);
  const M = 2 ** (storage.baseBits - 1) - 1;
  const base = new Uint16Array(x.length);
  const extras: number[] = [];
  for (let i = 0; i < codes.length; i++) {
    const b = Math.floor(codes[i] / 2);
    base[i] = b + M;
    if (flags[i]) extras.push(codes[i] - 2 * b);
  }
  const f = encodeFlags(flags);
  tensors.push({
    name,
    encoding: 'codes',
    section: addSection(packBits(base, storage.baseBits)),
    shape,
    bits: storage.baseBits,
    offset: -M,
    max: 2 * M,
  });
  tensors.push({
    name: `${name}/flags`,
    encoding: 'mpq-flags',
    section: addSection(f.bytes),
    count: x.length,
    index: f.index,
    k: f.k,
    flagged: f.flagged,
  });
  const ex = extras.length ? packBits(extras, 1) : new Uint8Array(0);
  tensors.push({ name: `${name}/extras`, encoding: 'bits', section: addSection(ex), count: extras.length });
  const bits = storage.baseBits * x.length + f.bytes.length * 8 + packedBytes(extras.length, 1) * 8;
  return { roles: { kernel: name, flags: `${name}/flags`, extras: `${name}/extras` }, bits };
}

/** Packs a kernel held as a product code: indices at ⌈log2 k⌉ bits and the fp16 codebook. */
function packProductCode(
  name: string,
  kernel: tf.Tensor,
  code: ProductCode,
  addSection: (b: Uint8Array) => number,
  tensors: TensorEntry[],
): { roles: Record<string, string>; bits: number } {
  const shape = kernel.shape as number[];
  const layout = codeLayout(shape, code.m, code.d, name);
  const k = code.centroids.length / code.d;
  if (!Number.isInteger(k) || code.assign.length !== layout.count || code.assign.some((a) => a >= k))
    throw new Error(`pack: ${name}: the product code does not fit the kernel (${layout.count} subvectors of ${code.d})`);
  // The kernel must be the code it is stored as: a stale or foreign codebook is refused, not packed.
  const decoded = fromCentroids(layout, code.centroids, code.assign, new Float32Array(kernel.size));
  const x = kernel.dataSync() as Float32Array;
  for (let i = 0; i < x.length; i++)
    if (x[i] !== decoded[i])
      throw new Error(
        `pack: ${name} is not its product code at weight ${i} (${x[i]} vs ${decoded[i]}); the checkpoint's codebook is stale`,
      );
  const bits = indexBits(k);
  const half = Uint16Array.from(code.centroids, toHalf);
  tensors.push({ name: `${name}/codebook`, encoding: 'float16', section: addSection(new Uint8Array(half.buffer)), shape: [k, code.d] });
  tensors.push({
    name,
    encoding: 'pq-indices',
    section: addSection(packBits(code.assign, bits)),
    shape,
    d: code.d,
    m: code.m,
    k,
    bits,
    codebook: `${name}/codebook`,
  });
  return { roles: { kernel: name, codebook: `${name}/codebook` }, bits: productCodeBits(layout.count, k, code.d) };
}
