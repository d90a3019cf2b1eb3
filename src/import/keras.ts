// importTfjsLayers(modelJson, weights): a stock tfjs layers model (model.json and its weight files,
// as tensorflowjs_converter writes a Keras model) as a model of the layers lowbit quantizes, packs
// and runs: Keras BatchNormalization becomes lowbit's LowbitBatchNorm, SeparableConv2D a
// depthwise conv then a 1×1 conv, an activation lowbit's layers lack (relu6 inside a conv) its own
// layer, dropout and noise layers (identities at inference) go, and a final softmax goes too (lowbit
// models output logits; the notes say so). Any other layer class the packed format does not know
// is refused by name.
import { tf } from '../engine/tf.js';
import '../nn/batch-norm.js';
import { layerClassNames, opOf } from '../deploy/layers/registry.js';

export interface TfjsImport {
  model: tf.LayersModel;
  inputShape: [number, number, number];
  numClasses: number;
  /** What changed on the way in, one line each (a dropped softmax, split layers). */
  notes: string[];
}

type Inbound = [string, number, number, Record<string, unknown>];
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: Inbound[][];
}

const IDENTITIES = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/** The weight specs of a model.json, checked: float32 only, and together the size of the weight data. */
function weightSpecs(json: Record<string, unknown>, bytes: number, file: string): WeightSpec[] {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new Error(`${file} has no weightsManifest`);
  const specs = manifest.flatMap((g: { weights?: unknown }) => (Array.isArray(g?.weights) ? (g.weights as WeightSpec[]) : []));
  let total = 0;
  for (const w of specs) {
    if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || w.shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new Error(`${file}: a weight entry is not {name, shape, dtype}`);
    if (w.dtype !== 'float32' || w.quantization)
      throw new Error(`${file}: weight ${w.name} is ${w.quantization ? 'quantized' : w.dtype}; lowbit imports float32 weights`);
    total += w.shape.reduce((a, b) => a * b, 1) * 4;
  }
  if (total !== bytes) throw new Error(`${file}: the weights need ${total} bytes, the weight files hold ${bytes}`);
  return specs;
}

/** The layer classes a tfjs model may hold: the packed format's stock ones and those converted on the way in. */
function importable(): string {
  const stock = layerClassNames().filter((n) => !n.startsWith('Q') && !n.startsWith('Lowbit'));
  return [...stock, 'BatchNormalization', 'SeparableConv2D', ...IDENTITIES].sort().join(', ');
}

export async function importTfjsLayers(modelJson: unknown, weightData: ArrayBuffer, o: { file?: string } = {}): Promise<TfjsImport> {
  const file = o.file ?? 'the model.json';
  const json = modelJson as Record<string, unknown>;
  if (!json || typeof json !== 'object' || typeof json.modelTopology !== 'object' || json.modelTopology === null)
    throw new Error(`${file} is not a tfjs layers model (a model.json with modelTopology and weightsManifest)`);
  const specs = weightSpecs(json, weightData.byteLength, file);
  let src: tf.LayersModel;
  try {
    src = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData }));
  } catch (e) {
    throw new Error(`${file}: tfjs cannot build the model (${(e as Error).message.split('\n')[0]})`);
  }
  if (src.inputs.length !== 1 || src.outputs.length !== 1)
    throw new Error(`${file} has ${src.inputs.length} inputs and ${src.outputs.length} outputs; lowbit imports one image in, logits out`);
  const inShape = src.inputs[0].shape.slice(1);
  if (inShape.length !== 3 || inShape.some((d) => d === null))
    throw new Error(`${file}: the input is [${inShape.map((d) => d ?? '?').join(', ')}]; expected [height, width, channels]`);
  const outShape = src.outputs[0].shape.slice(1);
  if (outShape.length !== 1 || outShape[0] === null)
    throw new Error(`${file}: the output is [${outShape.join(', ')}]; expected logits, a vector per example`);
  // A functional view of the same layers (a Sequential model too), whose JSON lists every layer's inputs.
  const topo = tf.model({ inputs: src.inputs, outputs: src.outputs }).toJSON(null, false) as unknown as {
    config: { layers: LayerJson[]; output_layers: [string, number, number][] };
  };
  const notes: string[] = [];
  const outName = topo.config.output_layers[0][0];
  const alias = new Map<string, Inbound>();
  const weights = new Map<string, tf.Tensor[]>();
  const out: LayerJson[] = [];
  const resolve = (n: Inbound): Inbound => (alias.has(n[0]) ? resolve(alias.get(n[0])!) : n);
  for (const l of topo.config.layers) {
    if (l.inbound_nodes.length > 1)
      throw new Error(`${file}: layer ${l.name} is applied ${l.inbound_nodes.length} times (shared layers are not imported)`);
    const inbound = (l.inbound_nodes[0] ?? []).map(resolve);
    // A Sequential model's input layer is not among its layers (and has no weights).
    const w = l.class_name === 'InputLayer' ? [] : src.getLayer(l.name).getWeights();
    const cls = l.class_name;
    const act = l.config.activation as string | undefined;
    const isOut = l.name === outName;
    if (IDENTITIES.has(cls) || (cls === 'Activation' && act === 'softmax' && isOut)) {
      if (cls === 'Activation') notes.push(`the final softmax (${l.name}) is dropped: lowbit models output logits`);
      alias.set(l.name, inbound[0]);
      continue;
    }
    if (cls === 'BatchNormalization') {
      const axis = l.config.axis as number | number[];
      if (![-1, 3].includes(Array.isArray(axis) ? axis[0] : axis))
        throw new Error(
          `${file}: layer ${l.name} normalizes axis ${JSON.stringify(axis)}; lowbit imports batch norm over channels (the last axis)`,
        );
      const c = w[w.length - 1].shape[0];
      const [gamma, beta] = [l.config.scale !== false ? w.shift()! : tf.ones([c]), l.config.center !== false ? w.shift()! : tf.zeros([c])];
      out.push({
        name: l.name,
        class_name: 'LowbitBatchNorm',
        config: { name: l.name, epsilon: l.config.epsilon ?? 1e-3, momentum: l.config.momentum ?? 0.99, relu: false },
        inbound_nodes: [inbound],
      });
      weights.set(l.name, [gamma, beta, ...w]);
      continue;
    }
    let entry: LayerJson = { ...l, inbound_nodes: [inbound] };
    let entryWeights = w;
    if (cls === 'SeparableConv2D') {
      const dwName = `${l.name}_depthwise`;
      const c = l.config;
      out.push({
        name: dwName,
        class_name: 'DepthwiseConv2D',
        config: {
          name: dwName,
          kernel_size: c.kernel_size,
          strides: c.strides,
          padding: c.padding,
          dilation_rate: c.dilation_rate,
          depth_multiplier: c.depth_multiplier ?? 1,
          use_bias: false,
          activation: 'linear',
        },
        inbound_nodes: [inbound],
      });
      weights.set(dwName, [w[0]]);
      entry = {
        name: l.name,
        class_name: 'Conv2D',
        config: {
          name: l.name,
          filters: c.filters,
          kernel_size: [1, 1],
          strides: [1, 1],
          padding: 'valid',
          use_bias: c.use_bias,
          activation: c.activation,
        },
        inbound_nodes: [[[dwName, 0, 0, {}]]],
      };
      entryWeights = w.slice(1);
      notes.push(`${l.name} (SeparableConv2D) is split into ${dwName} (depthwise) and ${l.name} (1×1 conv)`);
    }
    const a = entry.config.activation as string | undefined;
    if (a === 'softmax' && isOut) {
      entry.config = { ...entry.config, activation: 'linear' };
      notes.push(`the softmax of ${l.name} is dropped: lowbit models output logits`);
    } else if (a === 'relu6' && entry.class_name !== 'Activation') {
      // Conv and dense layers fuse relu only: relu6 becomes its own layer, under the layer's name.
      const inner = `${l.name}_linear`;
      out.push({ ...entry, name: inner, config: { ...entry.config, name: inner, activation: 'linear' } });
      weights.set(inner, entryWeights);
      entry = {
        name: l.name,
        class_name: 'Activation',
        config: { name: l.name, activation: 'relu6' },
        inbound_nodes: [[[inner, 0, 0, {}]]],
      };
      entryWeights = [];
    }
    if (!opOf(entry.class_name))
      throw new Error(`${file}: layer ${l.name} is a ${cls}, which lowbit does not import (supported: ${importable()})`);
    out.push(entry);
    if (entryWeights.length) weights.set(entry.name, entryWeights);
  }
  const [outLayer] = resolve([outName, 0, 0, {}]);
  const topology = {
    class_name: 'Model',
    config: {
      name: 'imported',
      layers: out,
      input_layers: (topo.config as unknown as { input_layers: unknown }).input_layers,
      output_layers: [[outLayer, 0, 0]],
    },
  };
  const model = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  for (const [name, ws] of weights) model.getLayer(name).setWeights(ws);
  return { model, inputShape: inShape as [number, number, number], numClasses: outShape[0], notes };
}
