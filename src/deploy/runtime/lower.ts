// Lowering a packed model to runtime steps. A quantized conv/dense layer absorbs the batch norm
// and ReLU that follow it; when its output reaches the next quantized layer only through max
// pooling and flattening, it requantizes straight into that layer's input grid (fixed point) and
// the tensors in between stay integer codes. Everything else runs in float. Every configuration
// value a step reads is checked here, so a hostile manifest fails at load time, not mid-inference.
import { formatOf } from '../../quant/registry.js';
import { PackedFormatError } from '../container.js';
import type { LayerEntry } from '../manifest.js';
import type { PackedModel, QuantInfo } from '../read.js';
import { intGrid, sharedLevels, type IntGrid } from './grid.js';
import { floatConv, geometry, intConv, maxPool, type FValue, type QValue, type Value } from './ops.js';
import { byteOffset, dequantize, levelsOf, toBytes } from './values.js';
import { gridOutput, type FloatOutput } from './requant.js';
import { nativeConv, outputBytes, prepareNativeConv, type WeightTable } from './native-conv.js';
import { activeNative } from '../../engine/state.js';

export type Step = (values: Map<string, Value>) => void;

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
const padding = (v: unknown, what: string): 'same' | 'valid' => {
  if (v !== 'same' && v !== 'valid') fail(`${what} must be 'same' or 'valid', got ${JSON.stringify(v)}`);
  return v;
};
const activation = (v: unknown, what: string): boolean => {
  if (v === undefined || v === null || v === 'linear') return false;
  if (v === 'relu') return true;
  return fail(`${what}: activation ${JSON.stringify(v)} is not supported (linear or relu)`);
};

function asFloat(v: Value): FValue {
  return v.kind === 'q' ? dequantize(v) : v;
}

/** x in a quantizer's grid (float input, or another grid's values): bytes for the native path, else codes. */
function quantize(v: Value, q: QuantInfo, grid: IntGrid, asBytes: boolean): QValue {
  const f = asFloat(v);
  const def = formatOf(q.spec);
  const plan = def.plan(q.spec as never, q.params as never);
  const addon = activeNative();
  // Per-tensor uniform grids natively (the same float32 arithmetic as encode), others by the format's encode.
  if (asBytes && addon && plan.kind === 'uniform' && plan.scale.length === 1 && !plan.flags) {
    const bytes = new Uint8Array(f.data.length);
    // The byte of every code qmin..qmax, in one call.
    const all = Int32Array.from({ length: plan.qmax - plan.qmin + 1 }, (_, i) => plan.qmin + i);
    const lut = toBytes({ kind: 'q', codes: all, bytes: null, shape: [all.length], grid });
    addon.quantizeBytes(f.data, plan.scale[0], plan.zeroPoint[0], plan.qmin, plan.qmax, lut, bytes);
    return { kind: 'q', codes: null, bytes, shape: f.shape, grid };
  }
  const codes = def.encode(f.data, f.shape, q.spec as never, q.params as never);
  const qv: QValue = { kind: 'q', codes, bytes: null, shape: f.shape, grid };
  return asBytes ? { ...qv, codes: null, bytes: toBytes(qv) } : qv;
}

export interface Program {
  steps: Step[];
  inputName: string;
  outputName: string;
  inputShape: number[];
}

export function lower(p: PackedModel): Program {
  const m = p.manifest;
  const byName = new Map(m.layers.map((l) => [l.name, l]));
  const consumers = new Map<string, LayerEntry[]>();
  for (const l of m.layers) for (const i of l.inbound) consumers.set(i, [...(consumers.get(i) ?? []), l]);
  const sole = (name: string) => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !m.outputs.includes(name) ? c[0] : null;
  };
  const float = (l: LayerEntry, role: string): Float32Array => p.floats.get(l.tensors[role])!;
  const shapeOf = (tn: string) => (m.tensors.find((t) => t.name === tn) as { shape: number[] }).shape;
  const inGrids = new Map<string, IntGrid>();
  const inputGrid = (l: LayerEntry): IntGrid | null => {
    const q = p.inputQuant.get(l.name);
    if (!q) return null;
    let g = inGrids.get(l.name);
    if (!g) inGrids.set(l.name, (g = intGrid(q.spec, q.params, 1, `layer ${l.name} input`)));
    return g;
  };
  const steps: Step[] = [];
  // Shapes of one example, checked layer by layer at load time.
  const shapes = new Map<string, number[]>();
  const shapeIn = (l: LayerEntry): number[] => {
    const s = shapes.get(l.inbound[0]);
    if (!s) fail(`layer ${l.name} reads ${l.inbound[0]}, whose output the runtime does not know`);
    return s;
  };
  const setShape = (name: string, s: number[]) => {
    if (s.some((d) => !Number.isInteger(d) || d < 1)) fail(`layer ${name} would output shape [${s.join(', ')}]`);
    shapes.set(name, s);
  };
  const fused = new Set<string>();
  /** Layers whose input arrives already in their grid (requantized by the producer). */
  const preQuantized = new Set<string>();
  for (const l of m.layers) {
    if (fused.has(l.name)) continue;
    const what = `layer ${l.name}`;
    const src = l.inbound[0];
    const cfg = l.config;
    switch (l.className) {
      case 'InputLayer':
        if (l.inbound.length) fail(`${what}: an input layer reads nothing`);
        if (l !== m.layers[0]) fail(`${what}: the runtime runs models with one input`);
        setShape(l.name, m.inputShape);
        break;
      case 'QConv2D':
      case 'QDense':
      case 'Conv2D':
      case 'Dense': {
        if (l.inbound.length !== 1) fail(`${what} must read one layer`);
        const conv = l.className.endsWith('Conv2D');
        const kshape = shapeOf(l.tensors.kernel);
        if (kshape.length !== (conv ? 4 : 2)) fail(`${what}: kernel of rank ${kshape.length}`);
        const cout = kshape[kshape.length - 1];
        if (conv) {
          const [kh, kw] = pair(cfg.kernel_size, `${what} kernel_size`);
          if (kh !== kshape[0] || kw !== kshape[1]) fail(`${what}: kernel_size does not match the kernel`);
          if (int(cfg.filters, `${what} filters`) !== cout) fail(`${what}: filters does not match the kernel`);
        } else if (int(cfg.units, `${what} units`) !== cout) fail(`${what}: units does not match the kernel`);
        const strides = conv ? pair(cfg.strides ?? 1, `${what} strides`) : [1, 1];
        const dil = conv ? pair(cfg.dilation_rate ?? 1, `${what} dilation_rate`) : [1, 1];
        const pad = conv ? padding(cfg.padding ?? 'valid', `${what} padding`) : 'valid';
        const bias = l.tensors.bias ? float(l, 'bias') : null;
        if (bias && bias.length !== cout) fail(`${what}: bias of ${bias.length} for ${cout} outputs`);
        let relu = activation(cfg.activation, what);
        // Fuse the batch norm and ReLU that follow (BN after a ReLU cannot fold into a·acc + b).
        let end = l.name;
        const fusedHere: string[] = [];
        let bn: { g: Float64Array; h: Float64Array } | null = null;
        const next = sole(end);
        if (!relu && next?.className === 'LowbitBatchNorm') {
          bn = foldBn(next, cout, float);
          relu = next.config.relu === true;
          fused.add(next.name);
          fusedHere.push(next.name);
          end = next.name;
        }
        const after = sole(end);
        if (!relu && (after?.className === 'ReLU' || (after?.className === 'Activation' && after.config.activation === 'relu'))) {
          relu = true;
          fused.add(after.name);
          fusedHere.push(after.name);
          end = after.name;
        }
        const wq = p.weightQuant.get(l.name);
        const gin = inputGrid(l);
        const kernelCodes = wq ? p.codes.get(l.tensors.kernel)! : null;
        const kernel4 = conv ? kshape : [1, 1, kshape[0], kshape[1]];
        const cin = kernel4[2];
        const sin = shapeIn(l);
        if (conv) {
          if (sin.length !== 3 || sin[2] !== cin) fail(`${what}: input [${sin.join(', ')}] does not fit a kernel of ${cin} input channels`);
          const geo = geometry(sin[0], sin[1], kernel4[0], kernel4[1], strides[0], strides[1], pad, dil[0], dil[1]);
          setShape(l.name, [geo.outH, geo.outW, cout]);
        } else {
          if (sin.reduce((x, y) => x * y, 1) !== cin) fail(`${what}: input [${sin.join(', ')}] does not fit a kernel of ${cin} inputs`);
          setShape(l.name, [cout]);
        }
        for (const n of fusedHere) setShape(n, shapes.get(l.name)!);
        const a = new Float64Array(cout),
          b = new Float64Array(cout);
        for (let c = 0; c < cout; c++) {
          const g = bn ? bn.g[c] : 1;
          a[c] = g;
          b[c] = (bias ? bias[c] : 0) * g + (bn ? bn.h[c] : 0);
        }
        // Where the output goes: into the next quantized layer's grid, through max pooling and flattening only.
        let target: LayerEntry | null = null;
        for (let t = sole(end); t; t = sole(t.name)) {
          if ((t.className === 'QConv2D' || t.className === 'QDense') && inputGrid(t)) {
            target = t;
            break;
          }
          if (t.className !== 'MaxPooling2D' && t.className !== 'Flatten') break;
        }
        const outName = end;
        if (wq && gin) {
          // Integer path: levels of weights per output channel, unit of input × unit of weight in a.
          const wg = intGrid(wq.spec, wq.params, cout, `${what} weights`);
          // Plain loops: a mapping callback per weight costs seconds on millions of weights.
          const wl = new Int32Array(kernelCodes!.length);
          for (let i = 0, c = 0; i < wl.length; i++, c = c + 1 === cout ? 0 : c + 1)
            wl[i] = wg.levels[wg.channels === 1 ? 0 : c][kernelCodes![i] - wg.codeMin];
          for (let c = 0; c < cout; c++) a[c] *= gin.unit[0] * wg.unit[wg.channels === 1 ? 0 : c];
          const tgrid = target ? inputGrid(target)! : null;
          const nat = prepareNativeConv(wl, kernel4[0] * kernel4[1] * cin, cout, gin, weightTable(wg, kernelCodes!));
          // The native path writes bytes of the target grid; a grid that does not fit bytes stays on the TypeScript path.
          const tbytes = tgrid && byteOffset(tgrid) !== null ? { grid: tgrid, bytes: outputBytes(tgrid) } : null;
          const useNative = nat !== null && (!tgrid || tbytes !== null);
          const out: ReturnType<typeof gridOutput> | FloatOutput = tgrid
            ? gridOutput(a, b, relu, tgrid, what)
            : { kind: 'float', a, b, relu };
          if (target) preQuantized.add(target.name);
          const preq = preQuantized.has(l.name);
          const inq = p.inputQuant.get(l.name)!;
          steps.push((vals) => {
            const v = vals.get(src)!;
            const addon = useNative ? activeNative() : null;
            const x = preq && v.kind === 'q' ? v : quantize(v, inq, gin, addon !== null);
            const shape = conv ? x.shape : [x.shape[0], 1, 1, x.shape.slice(1).reduce((s, d) => s * d, 1)];
            if (shape[3] !== cin) fail(`${what}: input has ${shape[3]} channels, the kernel ${cin}`);
            const geo = geometry(shape[1], shape[2], kernel4[0], kernel4[1], strides[0], strides[1], pad, dil[0], dil[1]);
            const y = addon
              ? nativeConv(addon, nat!, toBytes(x), shape, geo, out, tbytes)
              : intConv(levelsOf(x), shape, wl, cout, geo, out);
            if (y.kind === 'q') y.grid = tgrid!;
            vals.set(outName, conv ? y : reshape(y, [shape[0], cout]));
          });
        } else {
          // Float path: float activations (or an unquantized layer), weights as decoded values (once, at load).
          const kernelValues = Float32Array.from(
            wq ? formatOf(wq.spec).decode(kernelCodes!, kshape, wq.spec as never, wq.params as never) : p.floats.get(l.tensors.kernel)!,
          );
          steps.push((vals) => {
            const x = asFloat(vals.get(src)!);
            const shape = conv ? x.shape : [x.shape[0], 1, 1, x.shape.slice(1).reduce((s, d) => s * d, 1)];
            if (shape[3] !== cin) fail(`${what}: input has ${shape[3]} channels, the kernel ${cin}`);
            const geo = geometry(shape[1], shape[2], kernel4[0], kernel4[1], strides[0], strides[1], pad, dil[0], dil[1]);
            const y = floatConv(x.data, shape, kernelValues, null, cout, geo, false);
            for (let i = 0; i < y.data.length; i++) {
              const c = i % cout;
              const v = y.data[i] * a[c] + b[c];
              y.data[i] = relu && v < 0 ? 0 : v;
            }
            vals.set(outName, conv ? y : reshape(y, [shape[0], cout]));
          });
        }
        break;
      }
      case 'LowbitBatchNorm': {
        const C = float(l, 'gamma').length;
        const sin = shapeIn(l);
        if (sin[sin.length - 1] !== C) fail(`${what}: ${C} channels for an input of shape [${sin.join(', ')}]`);
        setShape(l.name, sin);
        const bn = foldBn(l, C, float);
        const relu = l.config.relu === true;
        steps.push((vals) => {
          const x = asFloat(vals.get(src)!);
          const data = Float32Array.from(x.data, (v, i) => {
            const y = v * bn.g[i % C] + bn.h[i % C];
            return relu && y < 0 ? 0 : y;
          });
          vals.set(l.name, { kind: 'f', data, shape: x.shape });
        });
        break;
      }
      case 'MaxPooling2D': {
        const [ph, pw] = pair(cfg.pool_size ?? 2, `${what} pool_size`);
        const [sh, sw] = pair(cfg.strides ?? cfg.pool_size ?? 2, `${what} strides`);
        const pad = padding(cfg.padding ?? 'valid', `${what} padding`);
        const sin = shapeIn(l);
        if (sin.length !== 3) fail(`${what}: pooling needs an image, the input is [${sin.join(', ')}]`);
        const pg = geometry(sin[0], sin[1], ph, pw, sh, sw, pad);
        setShape(l.name, [pg.outH, pg.outW, sin[2]]);
        steps.push((vals) => {
          const v = vals.get(src)!;
          vals.set(l.name, maxPool(v, geometry(v.shape[1], v.shape[2], ph, pw, sh, sw, pad)));
        });
        break;
      }
      case 'Flatten':
        setShape(l.name, [shapeIn(l).reduce((x, y) => x * y, 1)]);
        steps.push((vals) => {
          const v = vals.get(src)!;
          vals.set(l.name, reshape(v, [v.shape[0], v.shape.slice(1).reduce((s, d) => s * d, 1)]));
        });
        break;
      case 'ReLU':
      case 'Activation': {
        setShape(l.name, shapeIn(l));
        if (l.className === 'Activation' && !activation(cfg.activation, what)) {
          steps.push((vals) => vals.set(l.name, vals.get(src)!));
          break;
        }
        steps.push((vals) => {
          const x = asFloat(vals.get(src)!);
          vals.set(l.name, { kind: 'f', data: x.data.map((v) => (v < 0 ? 0 : v)), shape: x.shape });
        });
        break;
      }
      case 'Add':
        if (l.inbound.length < 2) fail(`${what} must read two layers or more`);
        for (const n of l.inbound) if (shapes.get(n)?.join() !== shapeIn(l).join()) fail(`${what}: inputs of different shapes`);
        setShape(l.name, shapeIn(l));
        steps.push((vals) => {
          const xs = l.inbound.map((n) => asFloat(vals.get(n)!));
          if (xs.some((x) => x.data.length !== xs[0].data.length)) fail(`${what}: inputs of different sizes`);
          const data = new Float32Array(xs[0].data.length);
          for (const x of xs) for (let i = 0; i < data.length; i++) data[i] += x.data[i];
          vals.set(l.name, { kind: 'f', data, shape: xs[0].shape });
        });
        break;
      case 'GlobalAveragePooling2D':
      case 'AveragePooling2D': {
        if (l.className === 'AveragePooling2D') fail(`${what}: AveragePooling2D is not supported by the runtime`);
        const sin = shapeIn(l);
        if (sin.length !== 3) fail(`${what}: global pooling needs an image, the input is [${sin.join(', ')}]`);
        setShape(l.name, [sin[2]]);
        steps.push((vals) => {
          const x = asFloat(vals.get(src)!);
          const [N, H, W, C] = x.shape;
          const data = new Float32Array(N * C);
          for (let n = 0; n < N; n++)
            for (let i = 0; i < H * W; i++) for (let c = 0; c < C; c++) data[n * C + c] += x.data[(n * H * W + i) * C + c] / (H * W);
          vals.set(l.name, { kind: 'f', data, shape: [N, C] });
        });
        break;
      }
      case 'QAct': {
        const q = p.inputQuant.get(l.name);
        if (!q) fail(`${what} has no quantizer`);
        const grid = intGrid(q.spec, q.params, 1, what);
        setShape(l.name, shapeIn(l));
        steps.push((vals) => vals.set(l.name, dequantize(quantize(vals.get(src)!, q, grid, false))));
        break;
      }
    }
  }
  if (m.outputs.length !== 1) fail(`the runtime runs models with one output, this one has ${m.outputs.length}`);
  const out = m.outputs[0];
  if (!byName.has(out)) fail(`output ${out} is not a layer`);
  return { steps, inputName: m.layers[0].name, outputName: out, inputShape: m.inputShape };
}

/** The weights as indices into one table of levels when every channel has the same levels (≤ 16 of them). */
function weightTable(wg: IntGrid, codes: Int32Array): WeightTable | undefined {
  const lv = sharedLevels(wg);
  if (!lv || lv.length > 16 || lv.some((v) => v < -128 || v > 127)) return undefined;
  const index = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) index[i] = codes[i] - wg.codeMin;
  return { index, levels: lv };
}

function reshape(v: Value, shape: number[]): Value {
  return v.kind === 'q' ? { ...v, shape } : { ...v, shape };
}

/** Batch norm in inference as y = x·g + h per channel. */
function foldBn(l: LayerEntry, C: number, float: (l: LayerEntry, role: string) => Float32Array): { g: Float64Array; h: Float64Array } {
  const [gamma, beta, mean, variance] = ['gamma', 'beta', 'movingMean', 'movingVariance'].map((r) => float(l, r));
  if ([gamma, beta, mean, variance].some((t) => t.length !== C))
    fail(`layer ${l.name}: batch norm parameters for ${gamma.length} channels, ${C} expected`);
  const eps = l.config.epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) fail(`layer ${l.name}: epsilon must be > 0`);
  if (variance.some((v) => !(v + eps > 0))) fail(`layer ${l.name}: batch norm variance + epsilon must be > 0`);
  const g = Float64Array.from(gamma, (v, c) => v / Math.sqrt(variance[c] + eps));
  const h = Float64Array.from(beta, (v, c) => v - mean[c] * g[c]);
  return { g, h };
}
