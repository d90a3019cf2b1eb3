// A kernel in product codes (pq): the kernel cut into subvectors (m input channels × the window
// for a conv, d consecutive inputs for a dense layer; quant/product-blocks.ts), each stored as an
// index of ⌈log2 k⌉ bits into a k × d float16 codebook. Arithmetic is float on the decoded
// weights; the accelerator fetches the packed indices and looks each weight up in the codebook.
// In ONNX the codes stay codes: the fp16 codebook gathered by the stored indices, then laid out
// as the ONNX weight.
import { codeLayout, CODEBOOK_BITS, fromCentroids, indexBits, productCodeBits, type ProductCode } from '../../quant/product-blocks.js';
import { toHalf } from '../../util/half.js';
import { packBits, packedBytes, unpackBits } from '../bitpack.js';
import { OnnxType } from '../onnx/tensors.js';
import { int, int64Tensor, ints } from '../onnx/nodes.js';
import { elements, fail } from '../layers/config-values.js';
import { onnxDims } from './format-codes.js';
import type { KernelCode, WeightCodec } from './codec.js';

type ProductKernel = Extract<KernelCode, { codec: 'product' }>;

export const productCodec: WeightCodec<ProductKernel> = {
  codec: 'product',
  encoding: 'pq-indices',
  roles: ['codebook'],
  quantized: false,
  pack(name, x, shape, { code }, out) {
    const layout = codeLayout(shape, code.m, code.d, name);
    const k = code.centroids.length / code.d;
    if (!Number.isInteger(k) || code.assign.length !== layout.count || code.assign.some((a) => a >= k))
      throw new Error(`pack: ${name}: the product code does not fit the kernel (${layout.count} subvectors of ${code.d})`);
    // The kernel must be the code it is stored as: a stale or foreign codebook is refused, not packed.
    const decoded = fromCentroids(layout, code.centroids, code.assign, new Float32Array(x.length));
    for (let i = 0; i < x.length; i++)
      if (x[i] !== decoded[i])
        throw new Error(
          `pack: ${name} is not its product code at weight ${i} (${x[i]} vs ${decoded[i]}); the checkpoint's codebook is stale`,
        );
    const bits = indexBits(k);
    const half = Uint16Array.from(code.centroids, toHalf);
    const codebook = `${name}/codebook`;
    out.tensors.push({ name: codebook, encoding: 'float16', section: out.add(new Uint8Array(half.buffer)), shape: [k, code.d] });
    const section = out.add(packBits(code.assign, bits));
    out.tensors.push({ name, encoding: 'pq-indices', section, shape, d: code.d, m: code.m, k, bits, codebook });
    return { roles: { kernel: name, codebook }, bits: productCodeBits(layout.count, k, code.d) };
  },
  read(l, t, ctx) {
    if (t.encoding !== 'pq-indices') fail(`layer ${l.name}: kernel encoding ${t.encoding} is not pq-indices`);
    const cb = ctx.tensor(t.codebook);
    if (cb?.encoding !== 'float16') fail(`tensor ${t.name}: its codebook ${t.codebook} is not a float16 tensor in the file`);
    if (l.weightQuant || l.tensors.codebook !== t.codebook)
      fail(`layer ${l.name}: a product-coded kernel belongs to a quantized layer without a weight quantizer, with its codebook`);
    if (cb.shape.length !== 2 || cb.shape[0] !== t.k || cb.shape[1] !== t.d)
      fail(`tensor ${t.name}: codebook [${cb.shape.join(', ')}] is not ${t.k} centroids of ${t.d}`);
    if (t.k > 2 ** t.bits) fail(`tensor ${t.name}: ${t.k} centroids do not fit ${t.bits}-bit indices`);
    let layout: ReturnType<typeof codeLayout>;
    try {
      layout = codeLayout(t.shape, t.m, t.d, t.name);
    } catch (e) {
      fail(`tensor ${t.name}: ${(e as Error).message}`);
    }
    const s = ctx.section(t);
    if (s.length !== packedBytes(layout.count, t.bits))
      fail(`tensor ${t.name}: ${s.length} bytes for ${layout.count} indices of ${t.bits} bits`);
    const idx = unpackBits(s, layout.count, t.bits);
    const assign = new Uint32Array(layout.count);
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] >= t.k) fail(`tensor ${t.name}: index ${idx[i]} at ${i} is out of range 0..${t.k - 1}`);
      assign[i] = idx[i];
    }
    const centroids = ctx.floats.get(t.codebook)!;
    const values = fromCentroids(layout, centroids, assign, new Float32Array(elements(t.shape, `tensor ${t.name}`)));
    const codebookHalf = new Uint16Array(t.k * t.d);
    new Uint8Array(codebookHalf.buffer).set(ctx.section(cb));
    return { codec: 'product', values, product: { m: t.m, d: t.d, k: t.k, centroids, assign, codebookHalf } };
  },
  toOnnx(ctx, l, k, kshape, conv) {
    // conv: [O, groups, kh, kw, m] → [O, I, kh, kw]; dense: [O, I] → [I, O].
    const pc = k.product!;
    const w = `${l.name}_w`;
    const cout = kshape[kshape.length - 1];
    const wide = pc.k > 256;
    const idx = wide ? Uint16Array.from(pc.assign) : Uint8Array.from(pc.assign);
    ctx.initializers.push({
      name: `${w}_codebook`,
      dims: [pc.k, pc.d],
      dataType: OnnxType.FLOAT16,
      rawData: new Uint8Array(pc.codebookHalf.buffer),
    });
    ctx.initializers.push({
      name: `${w}_idx`,
      dims: [pc.assign.length],
      dataType: wide ? OnnxType.UINT16 : OnnxType.UINT8,
      rawData: new Uint8Array(idx.buffer),
    });
    const i32 = ctx.fresh(`${w}_i32`),
      g16 = ctx.fresh(`${w}_g16`),
      g = ctx.fresh(`${w}_g`),
      r = ctx.fresh(`${w}_r`);
    ctx.nodes.push({ opType: 'Cast', input: [`${w}_idx`], output: [i32], attribute: [int('to', OnnxType.INT32)] });
    ctx.nodes.push({ opType: 'Gather', input: [`${w}_codebook`, i32], output: [g16], attribute: [int('axis', 0)] });
    ctx.nodes.push({ opType: 'Cast', input: [g16], output: [g], attribute: [int('to', OnnxType.FLOAT)] });
    const [kh, kw, ci] = conv ? kshape : [1, 1, kshape[0]];
    ctx.initializers.push(int64Tensor(`${w}_shape1`, conv ? [cout, ci / pc.m, kh, kw, pc.m] : [cout, ci]));
    ctx.nodes.push({ opType: 'Reshape', input: [g, `${w}_shape1`], output: [r] });
    const out = ctx.fresh(`${w}_w`);
    if (conv) {
      const t = ctx.fresh(`${w}_t`);
      ctx.nodes.push({ opType: 'Transpose', input: [r], output: [t], attribute: [ints('perm', [0, 1, 4, 2, 3])] });
      ctx.initializers.push(int64Tensor(`${w}_shape2`, onnxDims(kshape, conv)));
      ctx.nodes.push({ opType: 'Reshape', input: [t, `${w}_shape2`], output: [out] });
    } else ctx.nodes.push({ opType: 'Transpose', input: [r], output: [out], attribute: [ints('perm', [1, 0])] });
    return out;
  },
  stored({ code }) {
    const k = code.centroids.length / code.d,
      count = code.assign.length;
    const bitsPerWeight = productCodeBits(count, k, code.d) / (count * code.d);
    return {
      label: 'pq',
      nominalBits: bitsPerWeight,
      bitsPerWeight,
      multiplierBits: null,
      decoder: 'codebook',
      codebookBits: k * code.d * CODEBOOK_BITS,
      flaggedShare: 0,
    };
  },
};
