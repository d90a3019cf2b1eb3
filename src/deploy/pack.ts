// Packing a quantized tfjs model into a .lowbit file (SPEC.md §6): every layer's tensors by the
// roles its op declares (layers/*.ts); every coded kernel by its weight codec (codecs/*.ts: a
// format's integer codes bit-packed at its storage width, or a product code), float parameters
// (biases, batch norm, unquantized layers) as float32 sections, and a JSON manifest of the layers
// with their configuration and quantizer parameters.
import { isRegisteredDataset } from '../data/datasets.js';
import { trainedInputOf, type TrainedInput } from '../data/model-data.js';
import type { tf } from '../engine/tf.js';
import { QuantLayer } from '../nn/quant-layer.js';
import { QAct } from '../nn/qact.js';
import type { MpqParams } from '../quant/mpq.js';
import { writeContainer } from './container.js';
import type { LayerEntry, Manifest, TensorEntry } from './manifest.js';
import { layerClassNames, opOf } from './layers/registry.js';
import { codecOf, type KernelCode } from './codecs/registry.js';

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
  /** Kernels stored in a form the model's layers do not hold themselves (pq's product codes, from the checkpoint), by layer. */
  stored: ReadonlyMap<string, KernelCode> = new Map(),
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
      const params = wq && layer instanceof QuantLayer ? layer.weightParams() : null;
      const code: KernelCode | undefined = wq ? { codec: 'format', spec: wq.spec, params } : stored.get(layer.name);
      if (!code) {
        entry.tensors.kernel = addFloat(`${layer.name}/kernel`, kernel);
        kernelBits += 32 * kernel.size;
        return;
      }
      if (!op.quantizers?.weight) throw new Error(`pack: layer ${layer.name} (${className}) cannot hold a ${code.codec}-coded kernel`);
      if (wq && stored.has(layer.name)) throw new Error(`pack: layer ${layer.name} has both a weight format and a stored code`);
      const x = kernel.dataSync() as Float32Array;
      const k = codecOf(code.codec).pack(`${layer.name}/kernel`, x, kernel.shape as number[], code, { add: addSection, tensors });
      kernelBits += k.bits;
      Object.assign(entry.tensors, k.roles);
      if (wq) entry.weightQuant = { spec: wq.spec as unknown as Record<string, unknown>, params: jsonParams(params) };
    });
    if (layer instanceof QuantLayer && layer.inputQ)
      entry.inputQuant = { spec: layer.inputQ.spec as unknown as Record<string, unknown>, params: jsonParams(layer.inputParams()) };
    if (layer instanceof QAct)
      entry.inputQuant = { spec: layer.q.spec as unknown as Record<string, unknown>, params: jsonParams(layer.params()) };
    layers.push(entry);
  }
  const inputShape = (model.inputs[0].shape.slice(1) as (number | null)[]).map((d) => d ?? 1);
  const ds = trainedInputOf(modelSpec);
  const manifest: Manifest = {
    format: 'lowbit-packed',
    version: 1,
    createdBy: 'lowbit',
    modelSpec,
    inputShape,
    ...(ds ? { input: inputOf(ds) } : {}),
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

/** The manifest's input: an image folder also records its classes (a registered dataset's are in the registry). */
function inputOf(t: TrainedInput): NonNullable<Manifest['input']> {
  return { dataset: t.dataset, ...(isRegisteredDataset(t.dataset) ? {} : { classes: t.classNames }), mean: t.mean, std: t.std };
}
