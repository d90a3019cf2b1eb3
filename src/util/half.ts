// IEEE 754 half precision (binary16), for codebooks stored at 16 bits: float → half with round
// to nearest even (subnormals, overflow to infinity), half → float exactly. Node 20 has no
// Float16Array, so the bits are handled here.
const f = new Float32Array(1),
  u = new Uint32Array(f.buffer);

/** The binary16 bits of the value nearest to v (ties to even). */
export function toHalf(v: number): number {
  f[0] = v;
  const x = u[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1),
      half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa steps the exponent, which is the correct rounding (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** The value of binary16 bits h. */
export function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f,
    m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** v rounded to the nearest half-precision value (as a float32 array). */
export function roundToHalf(v: Float32Array): Float32Array {
  return Float32Array.from(v, (x) => fromHalf(toHalf(x)));
}
