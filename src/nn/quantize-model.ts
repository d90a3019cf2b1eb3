// quantizeModel: the quantized twin of any tfjs LayersModel (zoo or user's). The model's JSON
// topology is rewritten (Conv2D -> QConv2D, Dense -> QDense with their quantizer specs), the
// model rebuilt, and the weights copied by layer name. Sequential and functional models alike.
//
// Defaults: every conv/dense gets `weight` on its kernel and `activation` on its input; the
// first conv/dense (whose input is the image) and the last dense stay at 8 bits (int8 per-channel
// weights, int8 inputs: signed for the image, unsigned after a ReLU) unless keepEndsAt8Bits is
// false. Overrides match layer names exactly, by glob (`conv*`) or by regular expression (`/^s2/`).
//
// Batch norm: 'keep' (default) leaves it in float after the quantized conv, which is what the
// integer runtime folds into its requantization; 'fold' folds the running statistics into the
// preceding conv/dense weights and bias before quantization (the BN layer becomes its ReLU).
import { tf } from '../engine/tf.js';
import { isSigned, parseFormatSpec, type FormatSpec } from '../quant/registry.js';
import './qconv2d.js';
import './qdepthwise.js';
import './qdense.js';

export interface LayerOverride {
  /** Layer name, glob with `*`, or `/regex/`. */
  match: string;
  weight?: unknown | null;
  activation?: unknown | null;
}

export interface QuantizeConfig {
  weight: unknown | null;
  activation: unknown | null;
  keepEndsAt8Bits?: boolean;
  overrides?: LayerOverride[];
  batchNorm?: 'keep' | 'fold';
  /** Training steps between refits of non-learned weight parameters (default: per format, see Quantizer). */
  refitEvery?: number;
}

/** What quantizeModel decided for each quantized layer. */
export interface LayerPlan {
  name: string;
  kind: 'conv2d' | 'depthwise' | 'dense';
  weight: FormatSpec | null;
  activation: FormatSpec | null;
  /** Set on the first and last layers kept at 8 bits (keepEndsAt8Bits); retraining methods leave them alone. */
  end?: 'first' | 'last';
}

/** The layer classes quantizeModel replaces, with the quantized class and the plan's kind. */
const QUANTIZED: Record<string, { cls: string; kind: LayerPlan['kind'] }> = {
  Conv2D: { cls: 'QConv2D', kind: 'conv2d' },
  DepthwiseConv2D: { cls: 'QDepthwiseConv2D', kind: 'depthwise' },
  Dense: { cls: 'QDense', kind: 'dense' },
};

export const INT8_WEIGHTS = { format: 'int', bits: 8, granularity: 'channel' } as const;
export const INT8_IMAGE = { format: 'int', bits: 8, signed: true } as const;
export const UINT8_ACTIVATIONS = { format: 'int', bits: 8, signed: false } as const;

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes?: unknown;
  name?: string;
}

function matches(pattern: string, name: string): boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) return new RegExp(pattern.slice(1, -1)).test(name);
  if (pattern.includes('*'))
    return new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(name);
  return pattern === name;
}

function layersOf(topology: Record<string, unknown>): LayerJson[] {
  const cfg = topology.config as { layers?: LayerJson[] } | LayerJson[] | undefined;
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  if (!Array.isArray(layers)) throw new Error('quantizeModel: unsupported model topology (no layer list)');
  return layers;
}

function spec(v: unknown | null | undefined, what: string): FormatSpec | null {
  if (v === null || v === undefined) return null;
  try {
    return parseFormatSpec(v);
  } catch (e) {
    throw new Error(`quantizeModel: ${what}: ${(e as Error).message}`);
  }
}

/** Per-layer decisions, without building anything (used by quantizeModel and reports). */
export function planQuantization(model: tf.LayersModel, config: QuantizeConfig): LayerPlan[] {
  const layers = layersOf(model.toJSON(null, false) as Record<string, unknown>);
  const q = layers.filter((l) => l.class_name in QUANTIZED);
  if (q.length === 0) throw new Error('quantizeModel: the model has no Conv2D, DepthwiseConv2D or Dense layer to quantize');
  const names = new Set(q.map((l) => l.config.name));
  for (const o of config.overrides ?? [])
    if (![...names].some((n) => matches(o.match, n)))
      throw new Error(`quantizeModel: override '${o.match}' matches no conv/dense layer (layers: ${[...names].join(', ')})`);
  const last = [...q].reverse().find((l) => l.class_name === 'Dense') ?? q[q.length - 1];
  const inputNonNegative = nonNegativeInputs(layers);
  const ends = config.keepEndsAt8Bits ?? true;
  return q.map((l, i) => {
    const name = l.config.name;
    let weight: unknown = config.weight,
      activation: unknown = config.activation,
      end: 'first' | 'last' | undefined;
    if (ends && i === 0) ((weight = INT8_WEIGHTS), (activation = INT8_IMAGE), (end = 'first'));
    else if (ends && l === last) ((weight = INT8_WEIGHTS), (activation = UINT8_ACTIVATIONS), (end = 'last'));
    // A layer whose input may be negative (the normalised image, a MobileNet's linear bottleneck, a
    // residual sum of such) reads it in a signed format: an unsigned (post-ReLU) one would clamp every
    // negative value to zero. Overrides below are the user's own choice and stay as given.
    if (activation && !inputNonNegative(l)) {
      const a = spec(activation, `activation spec of ${name}`)!;
      if (!isSigned(a)) activation = signedTwin(a);
    }
    for (const o of config.overrides ?? []) {
      if (!matches(o.match, name)) continue;
      // A layer the user configures by name is the user's to retrain, end or not.
      if (o.weight !== undefined) ((weight = o.weight), (end = undefined));
      if (o.activation !== undefined) activation = o.activation;
    }
    return {
      name,
      kind: QUANTIZED[l.class_name].kind,
      weight: spec(weight, `weight spec of ${name}`),
      activation: spec(activation, `activation spec of ${name}`),
      ...(end ? { end } : {}),
    };
  });
}

/** The signed form of an unsigned activation spec: the same family where it has a sign, else int. */
function signedTwin(a: FormatSpec): FormatSpec {
  try {
    const s = parseFormatSpec({ ...a, signed: true });
    if (isSigned(s)) return s;
  } catch {
    // A family without a sign (PACT clips at zero).
  }
  return parseFormatSpec({ format: 'int', bits: Math.max(2, a.bits), signed: true });
}

const RELU_ACTIVATIONS = new Set(['relu', 'relu6']);
/** Layers whose output is non-negative when their inputs are (and zero padding adds zeros). */
const KEEPS_SIGN = new Set([
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'ZeroPadding2D',
  'Dropout',
  'Reshape',
  'Add',
  'Concatenate',
]);

/**
 * Whether each layer's input is known to be non-negative from the topology: it comes from a ReLU
 * (a ReLU layer, a relu/relu6 activation, a batch norm with its fused ReLU), through pooling,
 * flattening, padding, sums and concatenations of such. The model's input is not.
 */
function nonNegativeInputs(layers: LayerJson[]): (l: LayerJson) => boolean {
  const byName = new Map(layers.map((l) => [l.config.name as string, l]));
  const sequential = layers.every((l) => !l.inbound_nodes);
  const inputs = (l: LayerJson): string[] => {
    if (sequential) {
      const i = layers.indexOf(l);
      return i > 0 ? [layers[i - 1].config.name as string] : [];
    }
    const nodes = (l.inbound_nodes ?? []) as unknown[][];
    return (nodes[0] ?? []).map((n) => (Array.isArray(n) ? String(n[0]) : String((n as { args?: unknown }).args)));
  };
  const memo = new Map<string, boolean>();
  const nonNeg = (name: string): boolean => {
    if (memo.has(name)) return memo.get(name)!;
    memo.set(name, false);
    const l = byName.get(name);
    let v = false;
    if (l) {
      const act = l.config.activation as string | undefined;
      if (
        l.class_name === 'ReLU' ||
        (act !== undefined && RELU_ACTIVATIONS.has(act)) ||
        (l.class_name === 'LowbitBatchNorm' && l.config.relu === true)
      )
        v = true;
      else if (KEEPS_SIGN.has(l.class_name)) {
        const ins = inputs(l);
        v = ins.length > 0 && ins.every(nonNeg);
      }
    }
    memo.set(name, v);
    return v;
  };
  return (l) => {
    const ins = inputs(l);
    return ins.length > 0 && ins.every(nonNeg);
  };
}

/** Folds each conv/dense directly followed by a LowbitBatchNorm; returns the new weights by layer. */
function foldBatchNorm(model: tf.LayersModel, layers: LayerJson[]): Map<string, tf.Tensor[]> {
  const folded = new Map<string, tf.Tensor[]>();
  for (let i = 0; i + 1 < layers.length; i++) {
    const l = layers[i],
      bn = layers[i + 1];
    if (!(l.class_name in QUANTIZED) || bn.class_name !== 'LowbitBatchNorm') continue;
    if ((l.config.activation ?? 'linear') !== 'linear') continue;
    const inbound = JSON.stringify(bn.inbound_nodes ?? '');
    if (bn.inbound_nodes && !inbound.includes(`"${l.config.name}"`)) continue;
    const [kernel, bias] = model.getLayer(l.config.name).getWeights();
    const [gamma, beta, mean, variance] = model.getLayer(bn.config.name).getWeights();
    const eps = (bn.config.epsilon as number | undefined) ?? 1e-5;
    const factor = tf.div(gamma, tf.sqrt(tf.add(variance, eps)));
    const b0 = bias ?? tf.zerosLike(mean);
    // Every kernel here ends in its output channels (a depthwise [kh, kw, C, m] in C·m together).
    const scaled = tf.reshape(tf.mul(tf.reshape(kernel, [-1, factor.size]), factor), kernel.shape);
    folded.set(l.config.name, [scaled, tf.add(tf.mul(tf.sub(b0, mean), factor), beta)]);
    l.config.use_bias = true;
    layers[i + 1] = {
      ...bn,
      class_name: 'Activation',
      config: { name: bn.config.name, trainable: true, dtype: 'float32', activation: bn.config.relu ? 'relu' : 'linear' },
    };
  }
  return folded;
}

/** Builds the quantized twin of `model` and copies its weights. */
export async function quantizeModel(model: tf.LayersModel, config: QuantizeConfig): Promise<{ model: tf.LayersModel; plan: LayerPlan[] }> {
  const plan = planQuantization(model, config);
  const byName = new Map(plan.map((p) => [p.name, p]));
  const topology = model.toJSON(null, false) as Record<string, unknown>;
  const layers = layersOf(topology);
  const folded = config.batchNorm === 'fold' ? foldBatchNorm(model, layers) : new Map<string, tf.Tensor[]>();
  for (const l of layers) {
    const p = byName.get(l.config.name);
    if (!p) continue;
    l.class_name = QUANTIZED[l.class_name].cls;
    l.config.weight_quant = p.weight;
    l.config.input_quant = p.activation;
    if (config.refitEvery !== undefined) l.config.refit_every = config.refitEvery;
  }
  const q = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  const replaced = new Set(layers.filter((l) => l.class_name === 'Activation').map((l) => l.config.name));
  for (const layer of q.layers) {
    if (replaced.has(layer.name) && !folded.has(layer.name) && layer.getWeights().length === 0) continue;
    let src: tf.Tensor[];
    try {
      src = folded.get(layer.name) ?? model.getLayer(layer.name).getWeights();
    } catch {
      continue;
    }
    const dst = layer.getWeights();
    // Learned quantizer parameters come after the layer's own weights and start at zero. A
    // QDepthwiseConv2D keeps its kernel as [kh, kw, 1, C·m]: the same values in the same order.
    const own = src.map((t, i) =>
      dst[i] && t.shape.join() !== dst[i].shape.join() && t.size === dst[i].size ? tf.reshape(t, dst[i].shape) : t,
    );
    layer.setWeights([...own, ...dst.slice(src.length)]);
  }
  for (const ts of folded.values()) tf.dispose(ts);
  return { model: q, plan };
}
