// A conv/dense kernel as ONNX weights: a coded kernel by its weight codec (codecs/*.ts: exact
// integer levels with DequantizeLinear, or a product code gathered from its fp16 codebook), a
// float kernel as a float initializer in the ONNX layout.
import type { LayerEntry } from '../manifest.js';
import type { OnnxContext } from '../layers/layer-op.js';
import { codecOf } from '../codecs/registry.js';
import { onnxDims, onnxOrder } from '../codecs/format-codes.js';
import { floatTensor } from './tensors.js';

/** Writes the kernel of layer l; returns the name of the ONNX tensor holding its float weights. */
export function onnxKernel(ctx: OnnxContext, l: LayerEntry, kshape: number[], conv: boolean): string {
  const p = ctx.packed;
  const coded = p.kernels.get(l.tensors.kernel);
  if (coded) return codecOf(coded.codec).toOnnx(ctx, l, coded, kshape, conv);
  const k = p.floats.get(l.tensors.kernel)!;
  const perm = onnxOrder(kshape, conv);
  const v = new Float32Array(k.length);
  k.forEach((w, i) => (v[perm(i)] = w));
  const name = `${l.name}_w`;
  ctx.initializers.push(floatTensor(name, onnxDims(kshape, conv), v));
  return name;
}
