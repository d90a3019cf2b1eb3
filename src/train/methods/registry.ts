// The registry of quantization methods.
import { lsqMethod } from './lsq.js';
import { mpqMethod } from './mpq.js';
import { sqMethod } from './sq.js';
import { ptqMethod } from './ptq.js';
import { steMethod } from './ste.js';
import { slbMethod } from './slb.js';
import { esbMethod } from './esb.js';
import { dropbitsMethod } from './dropbits.js';
import { pqMethod } from './pq.js';
import type { QuantMethod } from './method.js';
import { bumpRegistryVersion } from '../../util/registry-version.js';

export const methods = {
  ste: steMethod,
  lsq: lsqMethod,
  ptq: ptqMethod,
  sq: sqMethod,
  mpq: mpqMethod,
  slb: slbMethod,
  esb: esbMethod,
  dropbits: dropbitsMethod,
  pq: pqMethod,
} as const satisfies Record<string, QuantMethod>;
export type MethodName = keyof typeof methods;
export const methodNames = Object.keys(methods) as MethodName[];

/** A method by name, typed as the common shape (the registry keeps each method's own, for its options' types). */
export function methodOf(name: string): QuantMethod {
  if (!Object.prototype.hasOwnProperty.call(methods, name))
    throw new Error(`unknown method '${name}' (expected one of: ${methodNames.join(', ')})`);
  return methods[name as MethodName] as QuantMethod;
}

export { registryVersion } from '../../util/registry-version.js';

/**
 * Registers a method at run time, as a plugin or a test does: it is then a `--method` choice with
 * its options and flags, like the built-in ones listed above.
 */
export function registerMethod(m: QuantMethod): void {
  if (!/^[a-z][a-z0-9]*$/.test(m.name)) throw new Error(`method name '${m.name}' must be lower-case letters and digits`);
  if (Object.prototype.hasOwnProperty.call(methods, m.name)) throw new Error(`method '${m.name}' is already registered`);
  (methods as unknown as Record<string, QuantMethod>)[m.name] = m;
  methodNames.push(m.name as MethodName);
  bumpRegistryVersion();
}

/**
 * How the CLI and the report name a quantization run: the method, its format when it trains any
 * format, and the widths (a method that stores kernels its own way, as pq does, has no weight width).
 */
export function runLabel(o: { method: string; format?: string; wbits?: number; abits?: number | null }): string {
  const m = Object.prototype.hasOwnProperty.call(methods, o.method) ? methodOf(o.method) : null;
  const a = `A${o.abits ?? 'fp'}`;
  if (m?.storedKernels) return `${o.method} ${a}`;
  return `${o.method}${!m || m.weightFormats === 'any' ? ` ${o.format ?? 'int'}` : ''} W${o.wbits ?? '?'}${a}`;
}
