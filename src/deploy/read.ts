// Reading a .lowbit file: the container checks (magic, version, lengths, CRCs), then the
// manifest's schema, then every cross-reference and size — sections used once, every tensor used
// by a layer, tensor byte lengths that match their shapes and widths, layer classes and tensor
// roles their ops declare (layers/*.ts), coded kernels read and checked by their weight codecs
// (codecs/*.ts: codes in range, MPQ flags inside the tensor, product-code indices inside their
// codebook), quantizer specs and parameters their formats accept, layer references that resolve.
// Every failure is one PackedFormatError naming what was wrong. Allocation is bounded by the
// file: no tensor is decoded before its section's length has been checked against its shape.
import { formatOf, parseFormatSpec, type FormatSpec } from '../quant/registry.js';
import { PackedFormatError, readContainer } from './container.js';
import { manifestSchema, type TensorEntry } from './manifest.js';
import { fromHalf } from '../util/half.js';
import { codecOfEncoding, codecRoles } from './codecs/registry.js';
import type { ReadContext } from './codecs/codec.js';
import { elements as product, fail } from './layers/config-values.js';
import { checkLayers, type CheckedLayer } from './check-layers.js';
import type { PackedModel, QuantInfo } from './packed-model.js';
import { lower } from './runtime/lower.js';
import { layerClassNames, opOf } from './layers/registry.js';

export type { PackedModel, QuantInfo } from './packed-model.js';

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
  for (const t of m.tensors) {
    const s = sections[t.section - 1];
    if (t.encoding === 'float32') {
      const n = product(t.shape, `tensor ${t.name}`);
      if (s.length !== 4 * n) fail(`tensor ${t.name}: ${s.length} bytes for ${n} float32 values`);
      const v = new Float32Array(n);
      new Uint8Array(v.buffer).set(s);
      if (!v.every(Number.isFinite)) fail(`tensor ${t.name} holds non-finite values`);
      floats.set(t.name, v);
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
  const layerNames = new Set<string>();
  const weightQuant = new Map<string, QuantInfo>(),
    inputQuant = new Map<string, QuantInfo>();
  const codes = new Map<string, Int32Array>();
  const kernels: PackedModel['kernels'] = new Map();
  const referenced = new Set<string>();
  const readContext: ReadContext = {
    tensor: (name) => byName.get(name),
    section: (t) => sections[t.section - 1],
    floats,
    checkQuant,
  };
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
    const kernel = l.tensors.kernel ? byName.get(l.tensors.kernel)! : null;
    // A coded kernel is read by its weight codec (codecs/*.ts); the roles a codec owns come with it.
    const codec = kernel ? codecOfEncoding(kernel.encoding) : undefined;
    if (kernel && !codec && kernel.encoding !== 'float32') fail(`layer ${l.name}: kernel encoding ${kernel.encoding} is not a kernel's`);
    if (l.weightQuant && !op.quantizers?.weight) fail(`layer ${l.name} (${l.className}) cannot hold a weight quantizer`);
    if (l.inputQuant && !op.quantizers?.input) fail(`layer ${l.name} (${l.className}) cannot hold an input quantizer`);
    if (codec && !op.quantizers?.weight) fail(`layer ${l.name}: a ${kernel!.encoding} kernel does not match a ${l.className}`);
    if (l.weightQuant && !codec?.quantized) fail(`layer ${l.name}: a weight quantizer needs a coded kernel`);
    for (const [role, tn] of Object.entries(l.tensors)) {
      if (role === 'kernel') continue;
      if (codecRoles.has(role)) {
        if (!codec?.roles.includes(role)) fail(`layer ${l.name}: a ${role} tensor without a kernel that uses one`);
      } else if (!floats.has(tn)) fail(`layer ${l.name}: its ${role} tensor ${tn} is not a float tensor`);
    }
    for (const tn of Object.values(l.tensors)) referenced.add(tn);
    if (l.inputQuant) inputQuant.set(l.name, checkQuant(l.inputQuant, `layer ${l.name} input quantizer`, null));
    if (!codec) continue;
    const d = codec.read(l, kernel!, readContext);
    kernels.set(kernel!.name, d);
    if (d.values) floats.set(kernel!.name, d.values);
    if (d.codes) codes.set(kernel!.name, d.codes);
    if (d.quant) weightQuant.set(l.name, d.quant);
  }
  for (const t of m.tensors) if (!referenced.has(t.name)) fail(`tensor ${t.name} belongs to no layer`);
  for (const o of m.outputs) if (!layerNames.has(o)) fail(`output ${o} is not a layer`);
  if (opOf(m.layers[0].className)?.inputs !== 'none') fail('the first layer must be the input');
  let layers: Map<string, CheckedLayer>;
  try {
    layers = checkLayers({ manifest: m, floats, weightQuant, inputQuant });
  } catch (e) {
    if (e instanceof PackedFormatError) throw e;
    fail((e as Error).message);
  }
  const checked = { manifest: m, floats, codes, weightQuant, inputQuant, kernels, layers };
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
