// Bit packing of unsigned integers at any width from 1 to 16 bits, least significant bit first:
// value i occupies bits [i·w, (i+1)·w) of the little-endian bit stream.

/** Bytes needed for `count` values of `bits` bits. */
export function packedBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

export function packBits(values: ArrayLike<number>, bits: number): Uint8Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new Error(`packBits: width ${bits} out of range 1..16`);
  const out = new Uint8Array(packedBytes(values.length, bits));
  const max = 2 ** bits - 1;
  let bit = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`packBits: value ${v} at ${i} does not fit ${bits} bits`);
    for (let done = 0; done < bits;) {
      const byte = bit >>> 3,
        off = bit & 7;
      const take = Math.min(8 - off, bits - done);
      out[byte] |= ((v >>> done) & ((1 << take) - 1)) << off;
      done += take;
      bit += take;
    }
  }
  return out;
}

/** The `count` values packed at `bits` bits in `bytes` (which must hold exactly that many bytes). */
export function unpackBits(bytes: Uint8Array, count: number, bits: number): Uint16Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new Error(`unpackBits: width ${bits} out of range 1..16`);
  if (bytes.length !== packedBytes(count, bits)) throw new Error(`unpackBits: ${bytes.length} bytes for ${count} values of ${bits} bits`);
  const out = new Uint16Array(count);
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let done = 0; done < bits;) {
      const byte = bit >>> 3,
        off = bit & 7;
      const take = Math.min(8 - off, bits - done);
      v |= ((bytes[byte] >>> off) & ((1 << take) - 1)) << done;
      done += take;
      bit += take;
    }
    out[i] = v;
  }
  return out;
}
