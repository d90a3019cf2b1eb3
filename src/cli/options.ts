// Option parsers shared by commands: each rejects bad input with a message naming what it expected.
import { InvalidArgumentError } from 'commander';

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer.');
  return n;
}

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function nonNegativeNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0.');
  return n;
}

export function numberList(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((n) => !Number.isFinite(n) || n <= 0))
    throw new InvalidArgumentError('expected comma-separated positive numbers, e.g. 10,20.');
  return out;
}

export function oneOf(choices: readonly string[]): (v: string) => string {
  return (v: string) => {
    if (!choices.includes(v)) throw new InvalidArgumentError(`expected one of: ${choices.join(', ')}.`);
    return v;
  };
}

/** Flags every training command (train, quantize) takes for its data, run directory and output. */
export interface RunFlags {
  dataDir?: string;
  seed: number;
  augment?: boolean;
  limitTrain?: number;
  limitTest?: number;
  threads?: number;
  out: string;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** The entries of o that are set: what a command passes on for the flags the user gave. */
export function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
