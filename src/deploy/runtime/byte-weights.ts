// What the two byte paths of the integer conv (native/src/intgemm.cc through native-conv.ts, and
// native/wasm/qconv.c through wasm-kernels.ts) store alike, whatever their layouts: the width weights
// are kept at, the level table of weights kept as indices, and the correction of signed inputs.

/** Weights as indices into one table of levels shared by every output channel (a format's codes). */
export interface WeightTable {
  index: Int32Array;
  levels: Int32Array;
}

/** Bits per stored weight: 2 or 4 for indices into a table of at most 4 or 16 levels, else 8 (int8 levels). */
export function storedBits(table?: WeightTable): 2 | 4 | 8 {
  const n = table?.levels.length ?? Infinity;
  return n <= 4 ? 2 : n <= 16 ? 4 : 8;
}

/** The index a padding weight takes: level 0's where the table has one (any other meets only zero inputs). */
export const padIndex = (table?: WeightTable): number => (table ? Math.max(0, table.levels.indexOf(0)) : 0);

/** The 16-entry code-to-level table the kernels expand stored indices through, or null for 8-bit weights. */
export function levelTable(table: WeightTable | undefined, bits: number): Int8Array | null {
  if (bits === 8) return null;
  const lut = new Int8Array(16);
  lut.set(table!.levels);
  return lut;
}

/**
 * offset·Σ_k w[k][c] per output channel (length ≥ cout, zero padded), which the kernels subtract from
 * sums of input bytes (level + offset) to get sums of levels; null for unsigned inputs (offset 0).
 */
export function offsetCorrection(wl: Int32Array, K: number, cout: number, offset: number, length = cout): Int32Array | null {
  if (!offset) return null;
  const corr = new Int32Array(length);
  for (let k = 0; k < K; k++) for (let c = 0; c < cout; c++) corr[c] += offset * wl[k * cout + c];
  return corr;
}
