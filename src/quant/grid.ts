// The integer grid of a quantizer: for every code, an integer level, with one real unit per
// channel so that value(code) = level(code) · unit. Integer MACs then run on levels and the unit
// moves into the requantization. Built from the format's own decode (declared once), so every
// format — uniform, DyBit, ESB, po2, MPQ's fine grid, binary, ternary — gets its grid the same way.
import { formatOf, type FormatSpec } from './registry.js';

export interface IntGrid {
  /** Smallest code; level of code q in channel c is levels[c][q - codeMin]. */
  codeMin: number;
  codeMax: number;
  levels: Int32Array[];
  /** Real value of one level step, per channel. */
  unit: Float64Array;
  channels: number;
}

/** The largest unit u with every value an integer multiple of u (to a 1e-5 relative tolerance). */
function unitOf(values: Float64Array): number {
  const mags = [...values].map(Math.abs).filter((v) => v > 0);
  if (mags.length === 0) return 1;
  const sorted = [...values].sort((a, b) => a - b);
  let minDiff = Infinity;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] > sorted[i - 1]) minDiff = Math.min(minDiff, sorted[i] - sorted[i - 1]);
  const seeds = [Math.min(...mags), minDiff].filter(Number.isFinite);
  for (let k = 0; k <= 12; k++)
    for (const g of seeds) {
      const u = g / 2 ** k;
      if (values.every((v) => Math.abs(v / u - Math.round(v / u)) <= 1e-5 * Math.max(1, Math.abs(v / u)))) return u;
    }
  throw new Error("the format's values are not on an integer grid");
}

/** The grid's levels when every channel has the same ones (units may differ), else null. */
export function sharedLevels(g: IntGrid): Int32Array | null {
  const lv = g.levels[0];
  return g.levels.every((l) => l.length === lv.length && l.every((v, i) => v === lv[i])) ? lv : null;
}

export function intGrid(spec: FormatSpec, params: unknown, channels: number, what: string): IntGrid {
  const def = formatOf(spec);
  const [lo, hi] = def.codeRange(spec as never);
  const n = hi - lo + 1;
  const C = def.channels(params as never) === 1 ? 1 : channels;
  const codes = new Int32Array(n * C);
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) codes[i * C + c] = lo + i;
  const values = def.decode(codes, [n, C], spec as never, params as never);
  const levels: Int32Array[] = [];
  const unit = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const v = Float64Array.from({ length: n }, (_, i) => values[i * C + c]);
    let u: number;
    try {
      u = unitOf(v);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    unit[c] = u;
    levels.push(Int32Array.from(v, (x) => Math.round(x / u)));
  }
  return { codeMin: lo, codeMax: hi, levels, unit, channels: C };
}
