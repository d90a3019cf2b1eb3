// Lowering a packed model to runtime steps. A quantized conv/dense layer absorbs the batch norm
// and ReLU that follow it; when its output reaches the next quantized layer only through max
// pooling and flattening, it requantizes straight into that layer's input grid (fixed point) and
// the tensors in between stay integer codes. Everything else runs in float. Every configuration
// value a step reads comes from readPacked's layer check (check-layers.ts, shared with the
// exports), so a hostile manifest fails at load time, not mid-inference.
import { formatOf } from '../../quant/registry.js';
import { PackedFormatError } from '../container.js';
import type { LayerEntry } from '../manifest.js';
import type { PackedModel, Program, QuantInfo, Step } from '../packed-model.js';
import { intGrid, sharedLevels, type IntGrid } from '../../quant/grid.js';
import { floatConv, geometry, intConv, maxPool, type FValue, type QValue, type Value } from './ops.js';
import { byteOffset, dequantize, levelsOf, toBytes } from './values.js';
import { gridOutput, type FloatOutput } from './requant.js';
import { nativeConv, outputBytes, prepareNativeConv, type NativeConv, type WeightTable } from './native-conv.js';
import { activeNative } from '../../engine/state.js';

export type { Program, Step } from '../packed-model.js';

function fail(what: string): never {
  throw new PackedFormatError(what);
}

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

/**
 * Lowers a packed model to runtime steps, once, in readPacked: every step's parameters (fixed-point
 * rescales included, the checks that depend on which layers fuse) are built here, so every consumer
 * of a packed model refuses what the runtime refuses. Native weight panels are prepared on a
 * layer's first native call, so a consumer that only exports never pays for them.
 */
export function lower(p: Omit<PackedModel, 'program'>): Program {
  const m = p.manifest;
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
  const checked = (name: string) => p.layers.get(name)!;
  const fused = new Set<string>();
  /** Layers whose input arrives already in their grid (requantized by the producer). */
  const preQuantized = new Set<string>();
  for (const l of m.layers) {
    if (fused.has(l.name)) continue;
    const what = `layer ${l.name}`;
    const src = l.inbound[0];
    const c = checked(l.name);
    switch (l.className) {
      case 'InputLayer':
        break;
      case 'QConv2D':
      case 'QDense':
      case 'Conv2D':
      case 'Dense': {
        const g = c.conv!;
        const conv = g.conv;
        const kshape = shapeOf(l.tensors.kernel);
        const { cout, cin, strides, padding: pad } = g;
        const dil = g.dilation;
        const bias = l.tensors.bias ? float(l, 'bias') : null;
        let relu = c.relu;
        // Fuse the batch norm and ReLU that follow (BN after a ReLU cannot fold into a·acc + b).
        let end = l.name;
        let bn: { g: Float64Array; h: Float64Array } | null = null;
        const next = sole(end);
        if (!relu && next?.className === 'LowbitBatchNorm') {
          bn = foldBn(next, checked(next.name).epsilon!, float);
          relu = checked(next.name).relu;
          fused.add(next.name);
          end = next.name;
        }
        const after = sole(end);
        if (!relu && (after?.className === 'ReLU' || after?.className === 'Activation') && checked(after.name).relu) {
          relu = true;
          fused.add(after.name);
          end = after.name;
        }
        const wq = p.weightQuant.get(l.name);
        const gin = inputGrid(l);
        const kernelCodes = wq ? p.codes.get(l.tensors.kernel)! : null;
        const kernel4 = conv ? kshape : [1, 1, kshape[0], kshape[1]];
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
          let nat: NativeConv | null | undefined;
          const native = () =>
            nat === undefined
              ? (nat = prepareNativeConv(wl, kernel4[0] * kernel4[1] * cin, cout, gin, weightTable(wg, kernelCodes!)))
              : nat;
          // The native path writes bytes of the target grid; a grid that does not fit bytes stays on the TypeScript path.
          const tbytes = tgrid && byteOffset(tgrid) !== null ? { grid: tgrid, bytes: outputBytes(tgrid) } : null;
          const nativeFits = !tgrid || tbytes !== null;
          const out: ReturnType<typeof gridOutput> | FloatOutput = tgrid
            ? gridOutput(a, b, relu, tgrid, what)
            : { kind: 'float', a, b, relu };
          if (target) preQuantized.add(target.name);
          const preq = preQuantized.has(l.name);
          const inq = p.inputQuant.get(l.name)!;
          steps.push((vals) => {
            const v = vals.get(src)!;
            const active = nativeFits ? activeNative() : null;
            const n = active ? native() : null;
            const addon = n ? active : null;
            const x = preq && v.kind === 'q' ? v : quantize(v, inq, gin, addon !== null);
            const shape = conv ? x.shape : [x.shape[0], 1, 1, x.shape.slice(1).reduce((s, d) => s * d, 1)];
            if (shape[3] !== cin) fail(`${what}: input has ${shape[3]} channels, the kernel ${cin}`);
            const geo = geometry(shape[1], shape[2], kernel4[0], kernel4[1], strides[0], strides[1], pad, dil[0], dil[1]);
            const y = addon ? nativeConv(addon, n!, toBytes(x), shape, geo, out, tbytes) : intConv(levelsOf(x), shape, wl, cout, geo, out);
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
        const bn = foldBn(l, c.epsilon!, float);
        const relu = c.relu;
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
        const [ph, pw] = c.pool!.size;
        const [sh, sw] = c.pool!.strides;
        const pad = c.pool!.padding;
        steps.push((vals) => {
          const v = vals.get(src)!;
          vals.set(l.name, maxPool(v, geometry(v.shape[1], v.shape[2], ph, pw, sh, sw, pad)));
        });
        break;
      }
      case 'Flatten':
        steps.push((vals) => {
          const v = vals.get(src)!;
          vals.set(l.name, reshape(v, [v.shape[0], v.shape.slice(1).reduce((s, d) => s * d, 1)]));
        });
        break;
      case 'ReLU':
      case 'Activation': {
        if (!c.relu) {
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
        steps.push((vals) => {
          const xs = l.inbound.map((n) => asFloat(vals.get(n)!));
          if (xs.some((x) => x.data.length !== xs[0].data.length)) fail(`${what}: inputs of different sizes`);
          const data = new Float32Array(xs[0].data.length);
          for (const x of xs) for (let i = 0; i < data.length; i++) data[i] += x.data[i];
          vals.set(l.name, { kind: 'f', data, shape: xs[0].shape });
        });
        break;
      case 'AveragePooling2D':
        // Refused by the layer check: never reaches here.
        break;
      case 'GlobalAveragePooling2D': {
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
        steps.push((vals) => vals.set(l.name, dequantize(quantize(vals.get(src)!, q, grid, false))));
        break;
      }
    }
  }
  const out = m.outputs[0];
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

/** Batch norm in inference as y = x·g + h per channel (its parameters checked by check-layers.ts). */
function foldBn(l: LayerEntry, eps: number, float: (l: LayerEntry, role: string) => Float32Array): { g: Float64Array; h: Float64Array } {
  const [gamma, beta, mean, variance] = ['gamma', 'beta', 'movingMean', 'movingVariance'].map((r) => float(l, r));
  const g = Float64Array.from(gamma, (v, c) => v / Math.sqrt(variance[c] + eps));
  const h = Float64Array.from(beta, (v, c) => v - mean[c] * g[c]);
  return { g, h };
}
