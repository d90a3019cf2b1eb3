// MPQ flag index codecs (SPEC.md §2; sizes as mpqFlagIndex counts them): a bitmap of one bit
// per weight, or the flagged positions as Rice-coded gaps (gap g: ⌊g/2^k⌋ ones, a zero, then
// the k low bits of g, least significant first). Bits are LSB-first within each byte.
import { mpqFlagIndex } from '../quant/mpq.js';

export function encodeFlags(flags: Uint8Array): { bytes: Uint8Array; index: 'bitmap' | 'rice'; k: number; flagged: number } {
  const ix = mpqFlagIndex(flags);
  const bits: number[] = [];
  if (ix.kind === 'bitmap') for (const f of flags) bits.push(f ? 1 : 0);
  else {
    let prev = -1;
    for (let i = 0; i < flags.length; i++) {
      if (!flags[i]) continue;
      const g = i - prev - 1;
      prev = i;
      for (let q = Math.floor(g / 2 ** ix.k); q > 0; q--) bits.push(1);
      bits.push(0);
      for (let b = 0; b < ix.k; b++) bits.push(Math.floor(g / 2 ** b) & 1);
    }
  }
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => (bytes[i >> 3] |= b << (i & 7)));
  return { bytes, index: ix.kind, k: ix.k, flagged: ix.flagged };
}

/**
 * Flags of `count` weights from their index; throws (with `what` in the message) if the bits
 * do not describe exactly `flagged` positions inside the tensor.
 */
export function decodeFlags(
  bytes: Uint8Array,
  count: number,
  index: 'bitmap' | 'rice',
  k: number,
  flagged: number,
  what: string,
): Uint8Array {
  const flags = new Uint8Array(count);
  const total = bytes.length * 8;
  const bit = (i: number) => (bytes[i >> 3] >> (i & 7)) & 1;
  if (index === 'bitmap') {
    if (bytes.length !== Math.ceil(count / 8)) throw new Error(`${what}: bitmap of ${bytes.length} bytes for ${count} weights`);
    let n = 0;
    for (let i = 0; i < count; i++) n += flags[i] = bit(i);
    if (n !== flagged) throw new Error(`${what}: bitmap flags ${n} weights, the manifest says ${flagged}`);
    return flags;
  }
  let at = 0,
    pos = -1;
  for (let j = 0; j < flagged; j++) {
    let q = 0;
    while (at < total && bit(at)) ((q += 1), (at += 1));
    if (at >= total) throw new Error(`${what}: Rice index ends inside flag ${j + 1} of ${flagged}`);
    at++;
    if (at + k > total) throw new Error(`${what}: Rice index ends inside flag ${j + 1} of ${flagged}`);
    let r = 0;
    for (let b = 0; b < k; b++) r += bit(at + b) * 2 ** b;
    at += k;
    pos += q * 2 ** k + r + 1;
    if (pos >= count) throw new Error(`${what}: flag ${j + 1} at position ${pos} is outside the ${count} weights`);
    flags[pos] = 1;
  }
  if (Math.ceil(at / 8) !== bytes.length) throw new Error(`${what}: ${bytes.length} bytes hold more than the ${flagged} flags`);
  return flags;
}
