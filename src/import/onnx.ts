// importOnnx(bytes): a float ONNX CNN (as torch.onnx.export writes it, opsets 11–21) as a tfjs
// layers model in lowbit's NHWC layout, the same kind of model the zoo builds, so every later
// stage (quantize, the methods, search, pack, run, export) takes it. Nodes become layers through
// the tables of onnx-layer-ops.ts and onnx-const-ops.ts; constant adds fold into the bias of the
// layer before them, and batch norms into the conv or dense before them where asked.
import { tf } from '../engine/tf.js';
import { BatchNorm } from '../nn/batch-norm.js';
import { readOnnx, type ConstTensor, type OnnxNode } from './onnx-read.js';
import type { IrBuilder, IrNode, IrOp, Value } from './onnx-ir.js';
import { constOps } from './onnx-const-ops.js';
import { layerOps } from './onnx-layer-ops.js';

export interface ImportOptions {
  /** Fold each batch norm into the conv or dense layer right before it (when nothing else reads that layer). */
  foldBatchNorm?: boolean;
  /** Names the file in errors. */
  file?: string;
}

export interface ImportedModel {
  model: tf.LayersModel;
  /** Height, width, channels of one input image (NHWC). */
  inputShape: [number, number, number];
  numClasses: number;
  opset: number;
  /** What was folded away: batch norms into layers, constant adds into biases. */
  folded: { batchNorm: number; bias: number };
  /** What a user should know of how the model came in (a grouped conv made block-diagonal). */
  notes: string[];
}

const converters = { ...constOps, ...layerOps };

/** The op types importOnnx reads, for errors and docs. */
export const importableOps = (): string[] => [...Object.keys(converters), 'Concat'].filter((v, i, a) => a.indexOf(v) === i).sort();

export function importOnnx(bytes: Uint8Array, o: ImportOptions = {}): ImportedModel {
  const file = o.file ?? 'the ONNX model';
  const m = readOnnx(bytes, file);
  const [, c, h, w] = m.input.dims as [number | null, number, number, number];
  const values = new Map<string, Value>();
  for (const [name, t] of m.initializers) values.set(name, { kind: 'const', t });
  values.set(m.input.name, { kind: 'tensor', ref: 'input', dims: [c, h, w] });
  const ir: IrNode[] = [];
  const notes: string[] = [];
  const names = new Set<string>(['input']);
  m.nodes.forEach((node, index) => {
    const convert = converters[node.op];
    const where = `${file}: node '${node.name}' (${node.op})`;
    if (!convert) throw new Error(`${where} is not supported; lowbit imports ${importableOps().join(', ')}`);
    const outs = convert(node, builder(node, index, where));
    outs.forEach((v, i) => node.outputs[i] && values.set(node.outputs[i], v));
  });

  function builder(node: OnnxNode, index: number, where: string): IrBuilder {
    const fail = (why: string): never => {
      throw new Error(`${where} ${why}`);
    };
    const attr = (name: string) => node.attrs.get(name);
    const value = (name: string): Value => values.get(name) ?? fail(`reads '${name}', which no earlier node produces`);
    const input = (i: number) => (node.inputs[i] ? value(node.inputs[i]) : null);
    return {
      where,
      opset: m.opset,
      value,
      constant(i, optional) {
        const v = input(i);
        if (!v) return optional ? null : fail(`has no input ${i}`);
        return v.kind === 'const'
          ? v.t
          : fail(`needs input ${i} ('${node.inputs[i]}') to be a constant (weights, shapes), but it is computed`);
      },
      tensor(i) {
        const v = input(i) ?? fail(`has no input ${i}`);
        return v.kind === 'tensor' ? v : fail(`needs input ${i} ('${node.inputs[i]}') to be computed from the image, but it is a constant`);
      },
      attrInt(name, dflt) {
        const a = attr(name);
        if (!a) return dflt ?? fail(`has no attribute '${name}'`);
        return a.kind === 'int' ? a.value : fail(`has attribute '${name}' of kind ${a.kind}; expected an integer`);
      },
      attrInts(name, dflt) {
        const a = attr(name);
        if (!a) return dflt ?? fail(`has no attribute '${name}'`);
        return a.kind === 'ints' ? a.value : fail(`has attribute '${name}' of kind ${a.kind}; expected integers`);
      },
      attrFloat(name, dflt) {
        const a = attr(name);
        if (!a) return dflt;
        return a.kind === 'float'
          ? a.value
          : a.kind === 'int'
            ? a.value
            : fail(`has attribute '${name}' of kind ${a.kind}; expected a number`);
      },
      attrString(name, dflt) {
        const a = attr(name);
        if (!a) return dflt;
        return a.kind === 'string' ? a.value : fail(`has attribute '${name}' of kind ${a.kind}; expected a string`);
      },
      emit(op, inputs, dims, extra) {
        // A conv or pool's own zero border is named after it.
        const name = layerName(node, index, names, op.kind === 'zeropad' && node.op !== 'Pad' ? '_pad' : '');
        ir.push({ name, source: where, op, inputs });
        return {
          kind: 'tensor',
          ref: name,
          dims,
          ...(extra?.flat ? { flat: extra.flat } : {}),
          ...(extra?.pooled ? { pooled: true } : {}),
        };
      },
      fail,
      note: (text) => void notes.push(text),
    };
  }

  const out = values.get(m.output) ?? fail0(`${file}: the output '${m.output}' is not produced by any node`);
  if (out.kind !== 'tensor' || out.dims.length !== 1)
    throw new Error(
      `${file}: the output '${m.output}' is ${out.kind === 'const' ? 'a constant' : `[${out.dims.join(', ')}] per example`}; expected logits, a vector per example`,
    );
  const folded = simplify(ir, out.ref, !!o.foldBatchNorm);
  const model = emit(ir, [h, w, c], out.ref);
  return { model, inputShape: [h, w, c], numClasses: out.dims[0], opset: m.opset, folded, notes };
}

function fail0(why: string): never {
  throw new Error(why);
}

/** A tfjs layer name from the ONNX node's (PyTorch's '/features/features.0/Conv' → 'features.0_conv'), unique. */
function layerName(node: OnnxNode, index: number, taken: Set<string>, suffix: string): string {
  const parts = node.name.split('/').filter(Boolean);
  const raw = parts.length > 1 ? `${parts[parts.length - 2]}_${parts[parts.length - 1]}` : (parts[0] ?? '');
  let base =
    raw
      .replace(/[^A-Za-z0-9_.]/g, '_')
      .replace(/^[^A-Za-z]+/, '')
      .toLowerCase() || `${node.op.toLowerCase()}_${index}`;
  // 'input' is the model's input layer.
  if (base.startsWith('input')) base = `n_${base}`;
  base += suffix;
  let name = base;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

/**
 * Folds constant adds into the bias of the conv, dense or batch norm before them, and (foldBN)
 * batch norms into the conv or dense before them, where nothing else reads that layer. Folded
 * nodes are removed and their readers read the layer instead.
 */
function simplify(ir: IrNode[], output: string, foldBN: boolean): { batchNorm: number; bias: number } {
  const folded = { batchNorm: 0, bias: 0 };
  const renamed = new Map<string, string>();
  const resolve = (r: string) => renamed.get(r) ?? r;
  const readers = (ref: string) => ir.filter((n) => n.inputs.some((i) => resolve(i) === ref)).length + (resolve(output) === ref ? 1 : 0);
  for (let i = 0; i < ir.length; i++) {
    const n = ir[i];
    n.inputs = n.inputs.map(resolve);
    if (n.op.kind !== 'bias' && !(foldBN && n.op.kind === 'batchnorm')) continue;
    const prev = ir.find((p) => p.name === n.inputs[0]);
    const op = prev?.op;
    const sole = prev !== undefined && readers(prev.name) === 1;
    if (n.op.kind === 'bias') {
      if (!sole || !op || (op.kind !== 'conv' && op.kind !== 'dense' && op.kind !== 'batchnorm'))
        throw new Error(
          `${n.source} adds a constant to a tensor that is not the sole output of a conv, dense or batch norm; lowbit cannot fold it`,
        );
      const v = n.op.values;
      if (op.kind === 'batchnorm') for (let c = 0; c < v.length; c++) op.beta[c] += v[c];
      else op.bias = Float32Array.from(v, (x, c) => x + (op.bias ? op.bias[c] : 0));
      folded.bias++;
    } else {
      if (!sole || !op || (op.kind !== 'conv' && op.kind !== 'dense')) continue;
      foldBatchNorm(op, n.op as Extract<IrOp, { kind: 'batchnorm' }>);
      folded.batchNorm++;
    }
    renamed.set(n.name, prev!.name);
    ir.splice(i--, 1);
  }
  return folded;
}

function foldBatchNorm(op: Extract<IrOp, { kind: 'conv' | 'dense' }>, bn: Extract<IrOp, { kind: 'batchnorm' }>): void {
  const ch = bn.gamma.length;
  const factor = Float64Array.from(bn.gamma, (g, c) => g / Math.sqrt(bn.variance[c] + bn.epsilon));
  // Every kernel layout here ends in the output channel (depthwise: channel·multiplier + q).
  for (let i = 0; i < op.kernel.length; i++) op.kernel[i] *= factor[i % ch];
  op.bias = Float32Array.from({ length: ch }, (_, c) => ((op.bias ? op.bias[c] : 0) - bn.mean[c]) * factor[c] + bn.beta[c]);
}

/** The tfjs model of the simplified graph, with its weights. */
function emit(ir: IrNode[], inputShape: [number, number, number], output: string): tf.LayersModel {
  const input = tf.input({ shape: inputShape, name: 'input' });
  const sym = new Map<string, tf.SymbolicTensor>([['input', input]]);
  const weights: [tf.layers.Layer, Float32Array[], number[][]][] = [];
  for (const n of ir) {
    const { layer, w } = layerOf(n);
    const ins = n.inputs.map((r) => sym.get(r)!);
    sym.set(n.name, layer.apply(ins.length === 1 ? ins[0] : ins) as tf.SymbolicTensor);
    if (w) weights.push([layer, w.values, w.shapes]);
  }
  const model = tf.model({ inputs: input, outputs: sym.get(output)!, name: 'imported' });
  for (const [layer, values, shapes] of weights) {
    const ts = values.map((v, i) => tf.tensor(v, shapes[i]));
    layer.setWeights(ts);
    tf.dispose(ts);
  }
  return model;
}

function layerOf(n: IrNode): { layer: tf.layers.Layer; w?: { values: Float32Array[]; shapes: number[][] } } {
  const name = n.name;
  const op = n.op;
  switch (op.kind) {
    case 'conv': {
      const [kh, kw, , out] = op.kshape;
      const common = {
        name,
        kernelSize: [kh, kw] as [number, number],
        strides: op.strides,
        padding: op.padding,
        dilationRate: op.dilation,
        useBias: !!op.bias,
      };
      const layer = op.depthwise
        ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: out })
        : tf.layers.conv2d({ ...common, filters: out });
      const channels = op.depthwise ? op.kshape[2] * out : out;
      return {
        layer,
        w: { values: op.bias ? [op.kernel, op.bias] : [op.kernel], shapes: op.bias ? [op.kshape, [channels]] : [op.kshape] },
      };
    }
    case 'dense': {
      const layer = tf.layers.dense({ name, units: op.units, useBias: !!op.bias });
      return { layer, w: { values: op.bias ? [op.kernel, op.bias] : [op.kernel], shapes: [[op.inputs, op.units], [op.units]] } };
    }
    case 'batchnorm': {
      const c = op.gamma.length;
      return {
        layer: new BatchNorm({ name, epsilon: op.epsilon }),
        w: { values: [op.gamma, op.beta, op.mean, op.variance], shapes: [[c], [c], [c], [c]] },
      };
    }
    case 'relu':
      return { layer: tf.layers.reLU({ name, ...(op.max !== null ? { maxValue: op.max } : {}) }) };
    case 'maxpool':
      return { layer: tf.layers.maxPooling2d({ name, poolSize: op.size, strides: op.strides, padding: op.padding }) };
    case 'avgpool':
      return { layer: tf.layers.averagePooling2d({ name, poolSize: op.size, strides: op.strides, padding: op.padding }) };
    case 'gap':
      return { layer: tf.layers.globalAveragePooling2d({ name }) };
    case 'flatten':
      return { layer: tf.layers.flatten({ name }) };
    case 'zeropad':
      return { layer: tf.layers.zeroPadding2d({ name, padding: op.pads }) };
    case 'add':
      return { layer: tf.layers.add({ name }) };
    case 'concat':
      return { layer: tf.layers.concatenate({ name, axis: -1 }) };
    case 'bias':
      throw new Error(`${n.source}: a constant add left unfolded`);
  }
}

export type { ConstTensor };
