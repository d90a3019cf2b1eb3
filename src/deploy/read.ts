// Reading a .lowbit file: the container checks (magic, version, lengths, CRCs), then the
// manifest's schema, then every cross-reference and size — sections used once, tensor byte
// lengths that match their shapes and widths, codes inside their range, MPQ flags inside the
// tensor, quantizer specs and parameters their formats accept, layer references that resolve.
// Every failure is one PackedFormatError naming what was wrong. Allocation is bounded by the
// file: no tensor is decoded before its section's length has been checked against its shape.
import { formatOf, parseFormatSpec, type FormatSpec } from '../quant/registry.js';
import { packedBytes, unpackBits } from './bitpack.js';
import { PackedFormatError, readContainer } from './container.js';
import { manifestSchema, type TensorEntry } from './manifest.js';
import { decodeFlags } from './rice.js';
import { codeLayout, fromCentroids } from '../quant/product-blocks.js';
import { fromHalf } from '../util/half.js';
import { checkLayers, type CheckedLayer } from './check-layers.js';
import type { PackedModel, QuantInfo } from './packed-model.js';
import { lower } from './runtime/lower.js';
import { layerClassNames, opOf } from './layers/registry.js';

export type { PackedModel, QuantInfo } from './packed-model.js';

const MAX_ELEMENTS = 1 << 28;

function fail(what: string): never {
  throw new PackedFormatError(what);
}

function product(shape: number[], what: string): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS) fail(`${what}: ${n} elements is beyond the ${MAX_ELEMENTS} limit`);
  return n;
}

function checkQuant(q: { spec: Record<string, unknown>; params: unknown }, what: string, channels: number | null): QuantInfo {
  let spec: FormatSpec;
  try {
    spec = parseFormatSpec(q.spec);
  } catch (e) {
    fail(`${what}: ${(e as Error).message}`);
  }
  const def = formatOf(spec);
  try {
    const C = def.channels(q.params as never);
    if (!Number.isInteger(C) || C < 1 || (C !== 1 && channels !== null && C !== channels))
      fail(`${what}: parameters for ${C} channels, expected 1${channels ? ` or ${channels}` : ''}`);
    for (let c = 0; c < C; c++)
      if (!def.levels(spec as never, q.params as never, c).every(Number.isFinite)) fail(`${what}: parameters give non-finite levels`);
  } catch (e) {
    if (e instanceof PackedFormatError) throw e;
    fail(`${what}: parameters do not fit the ${spec.format} format (${(e as Error).message})`);
  }
  return { spec, params: q.params };
}

export function readPacked(bytes: Uint8Array): PackedModel {
  const { manifest: raw, sections } = readContainer(bytes);
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success)
    fail(
      `damaged manifest: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || 'manifest'}: ${i.message}`)
        .join('; ')}`,
    );
  const m = parsed.data;
  // Sections: each tensor owns one, each section belongs to one tensor.
  const owner = new Map<number, string>();
  const byName = new Map<string, TensorEntry>();
  for (const t of m.tensors) {
    if (byName.has(t.name)) fail(`manifest names tensor ${t.name} twice`);
    byName.set(t.name, t);
    if (t.section < 1 || t.section > sections.length)
      fail(`tensor ${t.name} points at section ${t.section}; the file has 1..${sections.length}`);
    if (owner.has(t.section)) fail(`tensors ${owner.get(t.section)} and ${t.name} share section ${t.section}`);
    owner.set(t.section, t.name);
  }
  if (owner.size !== sections.length) fail(`${sections.length - owner.size} sections belong to no tensor`);
  const floats = new Map<string, Float32Array>();
  const stored = new Map<string, Int32Array>();
  for (const t of m.tensors) {
    const s = sections[t.section - 1];
    if (t.encoding === 'float32') {
      const n = product(t.shape, `tensor ${t.name}`);
      if (s.length !== 4 * n) fail(`tensor ${t.name}: ${s.length} bytes for ${n} float32 values`);
      const v = new Float32Array(n);
      new Uint8Array(v.buffer).set(s);
      if (!v.every(Number.isFinite)) fail(`tensor ${t.name} holds non-finite values`);
      floats.set(t.name, v);
    } else if (t.encoding === 'codes') {
      const n = product(t.shape, `tensor ${t.name}`);
      if (s.length !== packedBytes(n, t.bits)) fail(`tensor ${t.name}: ${s.length} bytes for ${n} codes of ${t.bits} bits`);
      if (t.max >= 2 ** t.bits) fail(`tensor ${t.name}: code range 0..${t.max} does not fit ${t.bits} bits`);
      const u = unpackBits(s, n, t.bits);
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        if (u[i] > t.max) fail(`tensor ${t.name}: code ${u[i]} at ${i} is out of range 0..${t.max}`);
        codes[i] = u[i] + t.offset;
      }
      stored.set(t.name, codes);
    } else if (t.encoding === 'float16') {
      const n = product(t.shape, `tensor ${t.name}`);
      if (s.length !== 2 * n) fail(`tensor ${t.name}: ${s.length} bytes for ${n} float16 values`);
      const h = new Uint16Array(n);
      new Uint8Array(h.buffer).set(s);
      const v = Float32Array.from(h, fromHalf);
      if (!v.every(Number.isFinite)) fail(`tensor ${t.name} holds non-finite values`);
      floats.set(t.name, v);
    }
  }
  // Product-coded kernels decode to float kernels once their codebooks are read.
  const productCodes: PackedModel['productCodes'] = new Map();
  for (const t of m.tensors) {
    if (t.encoding !== 'pq-indices') continue;
    const cb = byName.get(t.codebook);
    if (cb?.encoding !== 'float16') fail(`tensor ${t.name}: its codebook ${t.codebook} is not a float16 tensor in the file`);
    if (cb.shape.length !== 2 || cb.shape[0] !== t.k || cb.shape[1] !== t.d)
      fail(`tensor ${t.name}: codebook [${cb.shape.join(', ')}] is not ${t.k} centroids of ${t.d}`);
    if (t.k > 2 ** t.bits) fail(`tensor ${t.name}: ${t.k} centroids do not fit ${t.bits}-bit indices`);
    let layout: ReturnType<typeof codeLayout>;
    try {
      layout = codeLayout(t.shape, t.m, t.d, t.name);
    } catch (e) {
      fail(`tensor ${t.name}: ${(e as Error).message}`);
    }
    const s = sections[t.section - 1];
    if (s.length !== packedBytes(layout.count, t.bits))
      fail(`tensor ${t.name}: ${s.length} bytes for ${layout.count} indices of ${t.bits} bits`);
    const idx = unpackBits(s, layout.count, t.bits);
    const assign = new Uint32Array(layout.count);
    for (let i = 0; i < idx.length; i++) {
      if (idx[i] >= t.k) fail(`tensor ${t.name}: index ${idx[i]} at ${i} is out of range 0..${t.k - 1}`);
      assign[i] = idx[i];
    }
    const centroids = floats.get(t.codebook)!;
    floats.set(t.name, fromCentroids(layout, centroids, assign, new Float32Array(product(t.shape, `tensor ${t.name}`))));
    const cs = sections[cb.section - 1];
    const codebookHalf = new Uint16Array(t.k * t.d);
    new Uint8Array(codebookHalf.buffer).set(cs);
    productCodes.set(t.name, { m: t.m, d: t.d, k: t.k, centroids, assign, codebookHalf });
  }
  const layerNames = new Set<string>();
  const weightQuant = new Map<string, QuantInfo>(),
    inputQuant = new Map<string, QuantInfo>();
  const codes = new Map<string, Int32Array>();
  for (const l of m.layers) {
    if (layerNames.has(l.name)) fail(`manifest names layer ${l.name} twice`);
    for (const i of l.inbound) if (!layerNames.has(i)) fail(`layer ${l.name} reads ${i}, which is not an earlier layer`);
    layerNames.add(l.name);
    const op = opOf(l.className);
    if (!op) fail(`layer ${l.name}: layer class ${l.className} is not supported (supported: ${layerClassNames().join(', ')})`);
    const r = op.tensors ?? { need: [], may: [] };
    for (const need of r.need) if (!l.tensors[need]) fail(`layer ${l.name} (${l.className}) has no ${need} tensor`);
    for (const [role, tn] of Object.entries(l.tensors)) {
      if (!r.need.includes(role) && !r.may.includes(role)) fail(`layer ${l.name} (${l.className}) has an unexpected ${role} tensor`);
      if (!byName.has(tn)) fail(`layer ${l.name}: its ${role} tensor ${tn} is not in the file`);
    }
    const kernelName = l.tensors.kernel;
    const kernel = kernelName ? byName.get(kernelName)! : null;
    const quantized = op.quantizers?.weight === true;
    if (l.weightQuant && !quantized) fail(`layer ${l.name} (${l.className}) cannot hold a weight quantizer`);
    if (l.inputQuant && !op.quantizers?.input) fail(`layer ${l.name} (${l.className}) cannot hold an input quantizer`);
    if (kernel?.encoding === 'pq-indices' ? !quantized || l.weightQuant || l.tensors.codebook !== kernel.codebook : false)
      fail(`layer ${l.name}: a product-coded kernel belongs to a quantized layer without a weight quantizer, with its codebook`);
    if (l.tensors.codebook && kernel?.encoding !== 'pq-indices') fail(`layer ${l.name}: a codebook without a product-coded kernel`);
    if (
      kernel &&
      kernel.encoding !== 'pq-indices' &&
      quantized !== (kernel.encoding === 'codes') &&
      !(quantized && !l.weightQuant && kernel.encoding === 'float32')
    )
      fail(`layer ${l.name}: kernel encoding ${kernel.encoding} does not match a ${l.className}`);
    if (l.weightQuant && kernel?.encoding !== 'codes') fail(`layer ${l.name}: a weight quantizer needs a coded kernel`);
    if (kernel?.encoding === 'codes' && !l.weightQuant) fail(`layer ${l.name}: coded kernel without a weight quantizer`);
    const outC = kernel && 'shape' in kernel ? kernel.shape[kernel.shape.length - 1] : null;
    if (l.inputQuant) inputQuant.set(l.name, checkQuant(l.inputQuant, `layer ${l.name} input quantizer`, null));
    if (!l.weightQuant || !kernel || kernel.encoding !== 'codes') continue;
    const q = checkQuant(l.weightQuant, `layer ${l.name} weight quantizer`, outC);
    const c = stored.get(kernel.name)!;
    const def = formatOf(q.spec);
    const st = def.storage(q.spec as never);
    if (st.kind === 'fixed') {
      const [lo, hi] = def.codeRange(q.spec as never);
      if (kernel.bits !== st.bitsPerValue || kernel.offset !== lo || kernel.max !== hi - lo)
        fail(
          `layer ${l.name}: kernel stored as ${kernel.bits} bits from ${kernel.offset}, the ${q.spec.format} format stores ${st.bitsPerValue} bits from ${lo}`,
        );
      if (l.tensors.flags || l.tensors.extras) fail(`layer ${l.name}: flags on a ${q.spec.format} kernel`);
      codes.set(kernel.name, c);
      weightQuant.set(l.name, q);
      continue;
    }
    // MPQ: base codes, flags and extra bits.
    const M = 2 ** (st.baseBits - 1) - 1;
    if (kernel.bits !== st.baseBits || kernel.offset !== -M || kernel.max !== 2 * M)
      fail(`layer ${l.name}: MPQ kernel stored at the wrong width`);
    const fe = l.tensors.flags ? byName.get(l.tensors.flags) : undefined,
      xe = l.tensors.extras ? byName.get(l.tensors.extras) : undefined;
    if (fe?.encoding !== 'mpq-flags' || xe?.encoding !== 'bits') fail(`layer ${l.name}: an MPQ kernel needs its flags and extra bits`);
    if (fe.count !== c.length) fail(`layer ${l.name}: flags for ${fe.count} weights, the kernel has ${c.length}`);
    if (fe.flagged > fe.count || xe.count !== fe.flagged) fail(`layer ${l.name}: ${xe.count} extra bits for ${fe.flagged} flagged weights`);
    let flags: Uint8Array;
    try {
      flags = decodeFlags(sections[fe.section - 1], fe.count, fe.index, fe.k, fe.flagged, `layer ${l.name} flags`);
    } catch (e) {
      fail((e as Error).message);
    }
    const xs = sections[xe.section - 1];
    if (xs.length !== packedBytes(xe.count, 1)) fail(`layer ${l.name}: ${xs.length} bytes for ${xe.count} extra bits`);
    const extra = xe.count ? unpackBits(xs, xe.count, 1) : new Uint16Array(0);
    const fine = new Int32Array(c.length);
    let j = 0;
    for (let i = 0; i < c.length; i++) {
      const e = flags[i] ? extra[j++] : 0;
      fine[i] = 2 * c[i] + e;
      if (fine[i] > 2 * M) fail(`layer ${l.name}: weight ${i} above the top of the MPQ grid`);
    }
    codes.set(kernel.name, fine);
    weightQuant.set(l.name, { spec: q.spec, params: { ...(q.params as object), flags } });
  }
  for (const o of m.outputs) if (!layerNames.has(o)) fail(`output ${o} is not a layer`);
  if (opOf(m.layers[0].className)?.inputs !== 'none') fail('the first layer must be the input');
  let layers: Map<string, CheckedLayer>;
  try {
    layers = checkLayers({ manifest: m, floats, weightQuant, inputQuant });
  } catch (e) {
    if (e instanceof PackedFormatError) throw e;
    fail((e as Error).message);
  }
  const checked = { manifest: m, floats, codes, weightQuant, inputQuant, productCodes, layers };
  // The runtime's own lowering, once: what depends on which layers fuse (fixed-point rescales into
  // the next layer's grid) is checked here too, so every consumer refuses what `run` refuses.
  let program: PackedModel['program'];
  try {
    program = lower(checked);
  } catch (e) {
    if (e instanceof PackedFormatError) throw e;
    fail(`cannot run this model: ${(e as Error).message}`);
  }
  return { ...checked, program };
}
