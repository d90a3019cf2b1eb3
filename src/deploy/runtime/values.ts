// The two forms of a quantized tensor in the runtime: codes (the format's integers, the
// TypeScript path) and bytes (level + offset, 0 for unsigned grids and 128 for signed ones, the
// native path's compact form). Both sort like the values, so pooling works on either.
import type { IntGrid } from '../../quant/grid.js';

/** A quantized tensor as codes (TypeScript path) or bytes (native path); one of the two is set. */
export interface QValue {
  kind: 'q';
  codes: Int32Array | null;
  bytes: Uint8Array | null;
  shape: number[];
  grid: IntGrid;
}

export interface FValue {
  kind: 'f';
  data: Float32Array;
  shape: number[];
}

export type Value = QValue | FValue;

/** The byte offset of a grid (0 or 128), or null if its levels do not fit a byte. */
export function byteOffset(g: IntGrid): number | null {
  if (g.channels !== 1) return null;
  const lv = g.levels[0];
  const off = lv.every((v) => v >= 0) ? 0 : 128;
  return lv.every((v) => v + off >= 0 && v + off <= 255) ? off : null;
}

/**
 * n bytes followed by a little slack in their buffer: the native kernels that read a window's rows in
 * place read up to 3 bytes past a row (meeting zero weights), and copy an input that has no slack.
 */
export const byteArray = (n: number): Uint8Array => new Uint8Array(new ArrayBuffer(n + 4), 0, n);

export function toBytes(v: QValue): Uint8Array {
  if (v.bytes) return v.bytes;
  const off = byteOffset(v.grid);
  if (off === null) throw new Error('levels do not fit bytes');
  const lv = v.grid.levels[0],
    lo = v.grid.codeMin,
    codes = v.codes!;
  // Plain loops: TypedArray.from with a mapping function is many times slower on large tensors.
  const out = byteArray(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = lv[codes[i] - lo] + off;
  return out;
}

export function toCodes(v: QValue): Int32Array {
  if (v.codes) return v.codes;
  const off = byteOffset(v.grid)!;
  const lv = v.grid.levels[0];
  const code = new Int32Array(256);
  for (let i = lv.length - 1; i >= 0; i--) code[lv[i] + off] = v.grid.codeMin + i;
  const bytes = v.bytes!;
  const out = new Int32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = code[bytes[i]];
  return out;
}

/** Levels of a quantized tensor. */
export function levelsOf(v: QValue): Int32Array {
  if (v.bytes) {
    const off = byteOffset(v.grid)!,
      bytes = v.bytes;
    const out = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] - off;
    return out;
  }
  const lv = v.grid.levels[0],
    lo = v.grid.codeMin,
    codes = v.codes!;
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = lv[codes[i] - lo];
  return out;
}

/** Real values of a quantized tensor (per-tensor grids). */
export function dequantize(v: QValue): FValue {
  const u = v.grid.unit[0],
    levels = levelsOf(v);
  const data = new Float32Array(levels.length);
  for (let i = 0; i < levels.length; i++) data[i] = levels[i] * u;
  return { kind: 'f', data, shape: v.shape };
}
