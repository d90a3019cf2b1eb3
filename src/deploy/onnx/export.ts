// ONNX export (QDQ) of a packed model: each layer's op (layers/*.ts) writes its own nodes. The
// graph runs in NCHW (a Transpose after the input and before each Flatten keeps tfjs's NHWC
// flattening order, so dense weights are used unchanged). Weights are exact integer levels times
// a per-channel unit with DequantizeLinear (onnx/kernel.ts); activation quantizers are a Clip and
// an 8-bit QuantizeLinear/DequantizeLinear pair (onnx/nodes.ts).
import type { PackedModel } from '../read.js';
import type { OnnxContext, OnnxLayout } from '../layers/layer-op.js';
import { opOf } from '../layers/registry.js';
import { encodeModel, OnnxType, valueInfo, type OnnxGraph, type OnnxTensor } from './proto.js';

export interface OnnxExport {
  bytes: Uint8Array;
  opset: number;
  /** What could not be exported exactly, one line each. */
  notes: string[];
}

export function exportOnnx(p: PackedModel): OnnxExport {
  const m = p.manifest;
  const nodes: OnnxGraph['nodes'] = [];
  const initializers: OnnxTensor[] = [];
  const notes: string[] = [];
  let opset = 19;
  /** Output tensor name and layout of every layer. */
  const out = new Map<string, { name: string; layout: OnnxLayout }>();
  let uid = 0;
  const ctx: OnnxContext = {
    packed: p,
    nodes,
    initializers,
    notes,
    fresh: (base) => `${base}_${uid++}`,
    input: (l, i = 0) => out.get(l.inbound[i])!,
    output: (l, name, layout) => void out.set(l.name, { name, layout }),
    relu(x, base) {
      const y = ctx.fresh(`${base}_relu`);
      nodes.push({ opType: 'Relu', input: [x], output: [y] });
      return y;
    },
    needOpset: (n) => void (opset = Math.max(opset, n)),
  };
  // Configuration values as readPacked's layer check parsed them (shared with the runtime).
  for (const l of m.layers) opOf(l.className)!.toOnnx(l, p.layers.get(l.name)!, ctx);
  const last = out.get(m.outputs[0])!;
  nodes.push({ opType: 'Identity', input: [last.name], output: ['logits'] });
  const classes = p.layers.get(m.outputs[0])!.out[0];
  const bytes = encodeModel(
    {
      name: 'lowbit',
      nodes,
      initializers,
      inputs: [valueInfo('input', OnnxType.FLOAT, ['N', ...m.inputShape])],
      outputs: [valueInfo('logits', OnnxType.FLOAT, ['N', classes])],
    },
    opset,
  );
  return { bytes, opset, notes };
}
