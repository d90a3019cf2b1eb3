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
