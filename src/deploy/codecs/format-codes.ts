// A kernel in a number format's integer codes: each code bit-packed at the format's storage
// width (from its FormatDef), from its lowest code. MPQ stores base codes at b bits, the index of
// flagged weights (bitmap or Rice-coded gaps) and one extra bit per flagged weight in sections of
// their own; the fine-grid code is 2·base + extra. In ONNX the codes become exact integer levels
// times a per-channel unit (the runtime's integer grid): INT4 where every level fits [-8, 7]
// (opset 21), else INT8, then DequantizeLinear along the output-channel axis.
import { formatOf, type FormatSpec } from '../../quant/registry.js';
import { intGrid } from '../../quant/grid.js';
import { mpqBitsPerWeight, type MpqParams } from '../../quant/mpq.js';
import { packBits, packedBytes, unpackBits } from '../bitpack.js';
import { decodeFlags, encodeFlags } from '../rice.js';
import { floatTensor } from '../onnx/tensors.js';
import { int, intTensor } from '../onnx/nodes.js';
import { elements, fail } from '../layers/config-values.js';
import type { KernelCode, WeightCodec } from './codec.js';

type FormatCode = Extract<KernelCode, { codec: 'format' }>;

/** Stored bits per weight of a format (MPQ: with the flags' extra bits and index). */
export function storageBits(spec: FormatSpec, flags: Uint8Array | null): number {
  const st = formatOf(spec).storage(spec as never);
  switch (st.kind) {
    case 'fixed':
      return st.bitsPerValue;
    case 'mpq':
      return flags ? mpqBitsPerWeight(st.baseBits, flags) : st.baseBits;
    default: {
      const never: never = st;
      throw new Error(`unknown storage ${JSON.stringify(never)}`);
    }
  }
}

const flagsOf = (c: FormatCode): Uint8Array | null => c.flags ?? (c.params as Partial<MpqParams> | undefined)?.flags ?? null;

export const formatCodec: WeightCodec<FormatCode> = {
  codec: 'format',
  encoding: 'codes',
  roles: ['flags', 'extras'],
  quantized: true,
  pack(name, x, shape, c, out) {
    const { spec, params } = c;
    const def = formatOf(spec);
    const codes = def.encode(x, shape, spec as never, params as never);
    const [lo, hi] = def.codeRange(spec as never);
    const storage = def.storage(spec as never);
    if (storage.kind === 'fixed') {
      const bits = storage.bitsPerValue;
      if (hi - lo >= 2 ** bits) throw new Error(`pack: ${spec.format} codes ${lo}..${hi} do not fit its ${bits} storage bits`);
      const stored = Uint16Array.from(codes, (v) => v - lo);
      out.tensors.push({ name, encoding: 'codes', section: out.add(packBits(stored, bits)), shape, bits, offset: lo, max: hi - lo });
      return { roles: { kernel: name } as Record<string, string>, bits: bits * x.length };
    }
    // MPQ: fine-grid code j = 2·base + extra; base codes at b bits, the flags' index and extra bits apart.
    const flags = flagsOf(c) ?? new Uint8Array(x.length);
    const M = 2 ** (storage.baseBits - 1) - 1;
    const base = new Uint16Array(x.length);
    const extras: number[] = [];
    for (let i = 0; i < codes.length; i++) {
      const b = Math.floor(codes[i] / 2);
      base[i] = b + M;
      if (flags[i]) extras.push(codes[i] - 2 * b);
    }
    const f = encodeFlags(flags);
    const b = storage.baseBits;
    out.tensors.push({ name, encoding: 'codes', section: out.add(packBits(base, b)), shape, bits: b, offset: -M, max: 2 * M });
    const fl = { name: `${name}/flags`, encoding: 'mpq-flags', section: out.add(f.bytes), count: x.length } as const;
    out.tensors.push({ ...fl, index: f.index, k: f.k, flagged: f.flagged });
    const ex = extras.length ? packBits(extras, 1) : new Uint8Array(0);
    out.tensors.push({ name: `${name}/extras`, encoding: 'bits', section: out.add(ex), count: extras.length });
    const bits = b * x.length + f.bytes.length * 8 + packedBytes(extras.length, 1) * 8;
    return { roles: { kernel: name, flags: `${name}/flags`, extras: `${name}/extras` }, bits };
  },
  read(l, t, ctx) {
    if (t.encoding !== 'codes') fail(`layer ${l.name}: kernel encoding ${t.encoding} is not codes`);
    if (!l.weightQuant) fail(`layer ${l.name}: coded kernel without a weight quantizer`);
    const n = elements(t.shape, `tensor ${t.name}`);
    const s = ctx.section(t);
    if (s.length !== packedBytes(n, t.bits)) fail(`tensor ${t.name}: ${s.length} bytes for ${n} codes of ${t.bits} bits`);
    if (t.max >= 2 ** t.bits) fail(`tensor ${t.name}: code range 0..${t.max} does not fit ${t.bits} bits`);
    const u = unpackBits(s, n, t.bits);
    const c = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (u[i] > t.max) fail(`tensor ${t.name}: code ${u[i]} at ${i} is out of range 0..${t.max}`);
      c[i] = u[i] + t.offset;
    }
    const q = ctx.checkQuant(l.weightQuant, `layer ${l.name} weight quantizer`, t.shape[t.shape.length - 1]);
    const def = formatOf(q.spec);
    const st = def.storage(q.spec as never);
    if (st.kind === 'fixed') {
      const [lo, hi] = def.codeRange(q.spec as never);
      if (t.bits !== st.bitsPerValue || t.offset !== lo || t.max !== hi - lo)
        fail(
          `layer ${l.name}: kernel stored as ${t.bits} bits from ${t.offset}, the ${q.spec.format} format stores ${st.bitsPerValue} bits from ${lo}`,
        );
      if (l.tensors.flags || l.tensors.extras) fail(`layer ${l.name}: flags on a ${q.spec.format} kernel`);
      return { codec: 'format', codes: c, quant: q };
    }
    // MPQ: base codes, flags and extra bits.
    const M = 2 ** (st.baseBits - 1) - 1;
    if (t.bits !== st.baseBits || t.offset !== -M || t.max !== 2 * M) fail(`layer ${l.name}: MPQ kernel stored at the wrong width`);
    const fe = l.tensors.flags ? ctx.tensor(l.tensors.flags) : undefined,
      xe = l.tensors.extras ? ctx.tensor(l.tensors.extras) : undefined;
    if (fe?.encoding !== 'mpq-flags' || xe?.encoding !== 'bits') fail(`layer ${l.name}: an MPQ kernel needs its flags and extra bits`);
    if (fe.count !== c.length) fail(`layer ${l.name}: flags for ${fe.count} weights, the kernel has ${c.length}`);
    if (fe.flagged > fe.count || xe.count !== fe.flagged) fail(`layer ${l.name}: ${xe.count} extra bits for ${fe.flagged} flagged weights`);
    let flags: Uint8Array;
    try {
      flags = decodeFlags(ctx.section(fe), fe.count, fe.index, fe.k, fe.flagged, `layer ${l.name} flags`);
    } catch (e) {
      fail((e as Error).message);
    }
    const xs = ctx.section(xe);
    if (xs.length !== packedBytes(xe.count, 1)) fail(`layer ${l.name}: ${xs.length} bytes for ${xe.count} extra bits`);
    const extra = xe.count ? unpackBits(xs, xe.count, 1) : new Uint16Array(0);
    const fine = new Int32Array(c.length);
    let j = 0;
    for (let i = 0; i < c.length; i++) {
      const e = flags[i] ? extra[j++] : 0;
      fine[i] = 2 * c[i] + e;
      if (fine[i] > 2 * M) fail(`layer ${l.name}: weight ${i} above the top of the MPQ grid`);
    }
    return { codec: 'format', codes: fine, quant: { spec: q.spec, params: { ...(q.params as object), flags } } };
  },
  toOnnx(ctx, l, k, kshape, conv) {
    const wq = k.quant!;
    const cout = kshape[kshape.length - 1];
    const g = intGrid(wq.spec, wq.params, cout, `layer ${l.name} weights`);
    const codes = k.codes!;
    const perm = onnxOrder(kshape, conv);
    const levels = new Int32Array(codes.length);
    codes.forEach((q, i) => (levels[perm(i)] = g.levels[g.channels === 1 ? 0 : i % cout][q - g.codeMin]));
    // Per output channel: the level range, and a zero point that brings a wider (asymmetric) range into int8.
    const per = levels.length / cout;
    const channel = (i: number) => (conv ? Math.floor(i / per) : i % cout);
    const lo = new Int32Array(cout).fill(2 ** 30),
      hi = new Int32Array(cout).fill(-(2 ** 30));
    levels.forEach((v, i) => {
      const o = channel(i);
      lo[o] = Math.min(lo[o], v);
      hi[o] = Math.max(hi[o], v);
    });
    const four = lo.every((v) => v >= -8) && hi.every((v) => v <= 7);
    const zp = Int32Array.from(lo, (v, o) => (four || (v >= -128 && hi[o] <= 127) ? 0 : -128 - v));
    zp.forEach((z, o) => {
      if (hi[o] + z > 127 || z > 127) throw new Error(`layer ${l.name}: weight levels ${lo[o]}..${hi[o]} of channel ${o} do not fit int8`);
    });
    if (four) ctx.needOpset(21);
    const stored = Int32Array.from(levels, (v, i) => v + zp[channel(i)]);
    const units = g.channels === 1 ? Array.from({ length: cout }, () => g.unit[0]) : Array.from(g.unit);
    const w = `${l.name}_w`;
    ctx.initializers.push(intTensor(`${w}_q`, onnxDims(kshape, conv), stored, four), floatTensor(`${w}_scale`, [cout], units));
    ctx.initializers.push(intTensor(`${w}_zp`, [cout], zp, four));
    const out = ctx.fresh(`${w}_dq`);
    ctx.nodes.push({
      opType: 'DequantizeLinear',
      input: [`${w}_q`, `${w}_scale`, `${w}_zp`],
      output: [out],
      attribute: [int('axis', conv ? 0 : 1)],
    });
    return out;
  },
  stored(c) {
    const hw = formatOf(c.spec).hardware(c.spec as never);
    const flags = flagsOf(c);
    return {
      label: c.spec.format,
      nominalBits: (c.spec as { bits: number }).bits,
      bitsPerWeight: storageBits(c.spec, flags),
      multiplierBits: hw.multiplierBits,
      decoder: hw.decoder,
      flaggedShare: hw.extraPassForFlagged && flags ? flags.reduce((a, f) => a + f, 0) / flags.length : 0,
    };
  },
};

/** ONNX weight layouts: Conv [O, I, kh, kw] (from HWIO), MatMul [in, out] (as is). */
export const onnxDims = (kshape: number[], conv: boolean): number[] => (conv ? [kshape[3], kshape[2], kshape[0], kshape[1]] : kshape);

/** Where weight i of an HWIO (or [in, out]) kernel goes in the ONNX layout. */
export function onnxOrder(kshape: number[], conv: boolean): (i: number) => number {
  if (!conv) return (i) => i;
  const [kh, kw, ci, cout] = kshape;
  return (i) => {
    const o = i % cout,
      rest = Math.floor(i / cout);
    const c = rest % ci,
      r2 = Math.floor(rest / ci);
    const j = r2 % kw,
      h = Math.floor(r2 / kw);
    return ((o * ci + c) * kh + h) * kw + j;
  };
}
