// Parsing a layer configuration from a packed manifest: every value bounded and of the expected
// type, or one PackedFormatError naming the layer and the value. Shared by the layer ops' checks.
import { PackedFormatError } from '../container.js';
import type { Padding } from '../packed-model.js';

export function fail(what: string): never {
  throw new PackedFormatError(what);
}

export const int = (v: unknown, what: string, min = 1, max = 1 << 16): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
};

export const pair = (v: unknown, what: string): [number, number] => {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2) fail(`${what} must be a pair, got ${JSON.stringify(v)}`);
  return [int(a[0], what), int(a[1], what)];
};

export const padding = (v: unknown, what: string): Padding => {
  if (v !== 'same' && v !== 'valid') fail(`${what} must be 'same' or 'valid', got ${JSON.stringify(v)}`);
  return v;
};

/** true for relu, false for linear or none; anything else is refused. */
export const activation = (v: unknown, what: string): boolean => {
  if (v === undefined || v === null || v === 'linear') return false;
  if (v === 'relu') return true;
  return fail(`${what}: activation ${JSON.stringify(v)} is not supported (linear or relu)`);
};

/** The one input shape of a layer that must read an image [H, W, C]. */
export function image(inputs: number[][], what: string, doing: string): number[] {
  const s = inputs[0];
  if (s.length !== 3) fail(`${what}: ${doing} needs an image, the input is [${s.join(', ')}]`);
  return s;
}

export const MAX_ELEMENTS = 1 << 28;

/** Elements of a tensor shape, refused beyond MAX_ELEMENTS (allocation is bounded by the file). */
export function elements(shape: number[], what: string): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS) fail(`${what}: ${n} elements is beyond the ${MAX_ELEMENTS} limit`);
  return n;
}
