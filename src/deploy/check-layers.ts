// The one check of a packed model's layers, run by readPacked for every consumer (the runtime,
// the ONNX and tfjs exports, simulate): each layer's configuration parsed into the values the
// consumers use (kernel, strides, dilation, padding, activation, pool sizes, epsilon), the shape
// of one example through every layer, and every quantizer's integer grid. A consumer reads the
// checked values and never parses a configuration itself, so none can accept what another refuses.
import { PackedFormatError } from './container.js';
import type { LayerEntry, Manifest } from './manifest.js';
import { intGrid } from '../quant/grid.js';
import { geometry } from './runtime/ops.js';
import type { CheckedLayer, Padding, QuantInfo } from './packed-model.js';

export type { CheckedLayer, ConvCheck, Padding } from './packed-model.js';

function fail(what: string): never {
  throw new PackedFormatError(what);
}

const int = (v: unknown, what: string, min = 1, max = 1 << 16): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
};
const pair = (v: unknown, what: string): [number, number] => {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2) fail(`${what} must be a pair, got ${JSON.stringify(v)}`);
  return [int(a[0], what), int(a[1], what)];
};
const padding = (v: unknown, what: string): Padding => {
  if (v !== 'same' && v !== 'valid') fail(`${what} must be 'same' or 'valid', got ${JSON.stringify(v)}`);
  return v;
};
/** true for relu, false for linear or none; anything else is refused. */
const activation = (v: unknown, what: string): boolean => {
  if (v === undefined || v === null || v === 'linear') return false;
  if (v === 'relu') return true;
  return fail(`${what}: activation ${JSON.stringify(v)} is not supported (linear or relu)`);
};

export interface LayerInputs {
  manifest: Manifest;
  floats: Map<string, Float32Array>;
  weightQuant: Map<string, QuantInfo>;
  inputQuant: Map<string, QuantInfo>;
}

/** Checks every layer of a packed model; returns what each consumer needs of it, by layer name. */
export function checkLayers(p: LayerInputs): Map<string, CheckedLayer> {
  const m = p.manifest;
  const shapeOf = (tn: string) => (m.tensors.find((t) => t.name === tn) as { shape: number[] }).shape;
  const checked = new Map<string, CheckedLayer>();
  const shapeIn = (l: LayerEntry): number[] => {
    const s = checked.get(l.inbound[0])?.out;
    if (!s) fail(`layer ${l.name} reads ${JSON.stringify(l.inbound[0])}, whose output the runtime does not know`);
    return s;
  };
  const set = (l: LayerEntry, c: CheckedLayer) => {
    if (c.out.some((d) => !Number.isInteger(d) || d < 1)) fail(`layer ${l.name} would output shape [${c.out.join(', ')}]`);
    if (c.out.reduce((a, b) => a * b, 1) > 1 << 28) fail(`layer ${l.name} would output ${c.out.join('×')} values per example`);
    checked.set(l.name, c);
  };
  for (const l of m.layers) {
    const what = `layer ${l.name}`;
    const cfg = l.config;
    if (l.className === 'InputLayer') {
      if (l.inbound.length) fail(`${what}: an input layer reads nothing`);
      if (l !== m.layers[0]) fail(`${what}: the runtime runs models with one input`);
      set(l, { out: m.inputShape, relu: false });
      continue;
    }
    if (l.className === 'Add' ? l.inbound.length < 2 : l.inbound.length !== 1)
      fail(
        `${what} (${l.className}) must read ${l.className === 'Add' ? 'two layers or more' : 'one layer'}, it reads ${l.inbound.length}`,
      );
    const sin = shapeIn(l);
    switch (l.className) {
      case 'QConv2D':
      case 'QDense':
      case 'Conv2D':
      case 'Dense': {
        const conv = l.className.endsWith('Conv2D');
        const kshape = shapeOf(l.tensors.kernel);
        if (kshape.length !== (conv ? 4 : 2)) fail(`${what}: kernel of rank ${kshape.length}`);
        const cout = kshape[kshape.length - 1];
        const cin = kshape[kshape.length - 2];
        let kernel: [number, number] = [1, 1];
        if (conv) {
          kernel = pair(cfg.kernel_size, `${what} kernel_size`);
          if (kernel[0] !== kshape[0] || kernel[1] !== kshape[1]) fail(`${what}: kernel_size does not match the kernel`);
          if (int(cfg.filters, `${what} filters`) !== cout) fail(`${what}: filters does not match the kernel`);
        } else if (int(cfg.units, `${what} units`) !== cout) fail(`${what}: units does not match the kernel`);
        const strides = conv ? pair(cfg.strides ?? 1, `${what} strides`) : ([1, 1] as [number, number]);
        const dilation = conv ? pair(cfg.dilation_rate ?? 1, `${what} dilation_rate`) : ([1, 1] as [number, number]);
        const pad = conv ? padding(cfg.padding ?? 'valid', `${what} padding`) : 'valid';
        const relu = activation(cfg.activation, what);
        const bias = l.tensors.bias ? p.floats.get(l.tensors.bias)! : null;
        if (bias && bias.length !== cout) fail(`${what}: bias of ${bias.length} for ${cout} outputs`);
        let out: number[];
        if (conv) {
          if (sin.length !== 3 || sin[2] !== cin) fail(`${what}: input [${sin.join(', ')}] does not fit a kernel of ${cin} input channels`);
          const geo = geometry(sin[0], sin[1], kernel[0], kernel[1], strides[0], strides[1], pad, dilation[0], dilation[1]);
          out = [geo.outH, geo.outW, cout];
        } else {
          if (sin.reduce((x, y) => x * y, 1) !== cin) fail(`${what}: input [${sin.join(', ')}] does not fit a kernel of ${cin} inputs`);
          out = [cout];
        }
        const wq = p.weightQuant.get(l.name);
        if (wq) intGrid(wq.spec, wq.params, cout, `${what} weights`);
        const iq = p.inputQuant.get(l.name);
        if (iq) intGrid(iq.spec, iq.params, 1, `${what} input`);
        set(l, { out, conv: { conv, kernel, strides, dilation, padding: pad, cin, cout }, relu });
        break;
      }
      case 'LowbitBatchNorm': {
        const C = p.floats.get(l.tensors.gamma)!.length;
        if (sin[sin.length - 1] !== C) fail(`${what}: ${C} channels for an input of shape [${sin.join(', ')}]`);
        for (const r of ['beta', 'movingMean', 'movingVariance'])
          if (p.floats.get(l.tensors[r])!.length !== C) fail(`${what}: batch norm parameters for ${C} channels, ${r} differs`);
        const eps = cfg.epsilon ?? 1e-5;
        if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(`${what}: epsilon must be a number > 0`);
        if (p.floats.get(l.tensors.movingVariance)!.some((v) => !(v + eps > 0))) fail(`${what}: batch norm variance + epsilon must be > 0`);
        if (cfg.relu !== undefined && typeof cfg.relu !== 'boolean') fail(`${what}: relu must be true or false`);
        set(l, { out: sin, relu: cfg.relu === true, epsilon: eps });
        break;
      }
      case 'MaxPooling2D': {
        const size = pair(cfg.pool_size ?? 2, `${what} pool_size`);
        const strides = pair(cfg.strides ?? cfg.pool_size ?? 2, `${what} strides`);
        const pad = padding(cfg.padding ?? 'valid', `${what} padding`);
        if (sin.length !== 3) fail(`${what}: pooling needs an image, the input is [${sin.join(', ')}]`);
        const g = geometry(sin[0], sin[1], size[0], size[1], strides[0], strides[1], pad);
        set(l, { out: [g.outH, g.outW, sin[2]], pool: { size, strides, padding: pad }, relu: false });
        break;
      }
      case 'Flatten':
        set(l, { out: [sin.reduce((x, y) => x * y, 1)], relu: false });
        break;
      case 'ReLU':
        set(l, { out: sin, relu: true });
        break;
      case 'Activation':
        set(l, { out: sin, relu: activation(cfg.activation, what) });
        break;
      case 'Add':
        for (const n of l.inbound)
          if (checked.get(n)?.out.join() !== sin.join()) fail(`${what}: inputs of different shapes (${n} against ${l.inbound[0]})`);
        set(l, { out: sin, relu: false });
        break;
      case 'GlobalAveragePooling2D':
        if (sin.length !== 3) fail(`${what}: global pooling needs an image, the input is [${sin.join(', ')}]`);
        set(l, { out: [sin[2]], relu: false });
        break;
      case 'AveragePooling2D':
        fail(`${what}: AveragePooling2D is not supported by the runtime`);
        break;
      case 'QAct': {
        const q = p.inputQuant.get(l.name);
        if (!q) fail(`${what} has no quantizer`);
        intGrid(q.spec, q.params, 1, what);
        set(l, { out: sin, relu: false });
        break;
      }
      default: {
        const never: never = l.className;
        fail(`${what}: layer class ${String(never)} is not supported`);
      }
    }
  }
  if (m.outputs.length !== 1) fail(`the runtime runs models with one output, this one has ${m.outputs.length}`);
  const out = checked.get(m.outputs[0]);
  if (!out) fail(`output ${m.outputs[0]} is not a layer`);
  if (out.out.length !== 1) fail(`output ${m.outputs[0]} gives shape [${out.out.join(', ')}] per example, expected logits [classes]`);
  return checked;
}
