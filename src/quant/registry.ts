// The registry of number formats: one line per format. Everything else (training, packing,
// export, the accelerator model, the conformance suite) finds formats here.
import { z } from 'zod';
import { binaryFormat, binarySchema } from './binary.js';
import { dybitFormat, dybitSchema } from './dybit.js';
import { esbFormat, esbSchema } from './esb.js';
import { intFormat, intSchema } from './int.js';
import { lsqFormat, lsqSchema } from './lsq.js';
import { mpqFormat, mpqSchema } from './mpq.js';
import { pactFormat, pactSchema } from './pact.js';
import { po2Format, po2Schema } from './po2.js';
import { ternaryFormat, ternarySchema } from './ternary.js';
import type { FormatDef } from './types.js';

export const formats = {
  int: intFormat,
  binary: binaryFormat,
  ternary: ternaryFormat,
  po2: po2Format,
  lsq: lsqFormat,
  pact: pactFormat,
  esb: esbFormat,
  dybit: dybitFormat,
  mpq: mpqFormat,
} as const;

export type FormatName = keyof typeof formats;
export const formatNames = Object.keys(formats) as FormatName[];

const schemas = [intSchema, binarySchema, ternarySchema, po2Schema, lsqSchema, pactSchema, esbSchema, dybitSchema, mpqSchema] as const;

/** A validated format spec (defaults filled in). */
export type FormatSpec = z.output<(typeof schemas)[number]>;
export type SpecOf<N extends FormatName> = Extract<FormatSpec, { format: N }>;

/** Validates a spec; unknown formats and bad fields get one message naming them. */
export function parseFormatSpec(input: unknown): FormatSpec {
  const name = (input as { format?: unknown } | null)?.format;
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(formats, name))
    throw new Error(`unknown number format ${JSON.stringify(name)}; expected one of: ${formatNames.join(', ')}`);
  const r = formats[name as FormatName].schema.safeParse(input);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`);
    throw new Error(`invalid ${name} spec ${JSON.stringify(input)}: ${msgs.join('; ')}`);
  }
  return r.data as FormatSpec;
}

/** The definition of a spec's format, typed loosely for generic code (fit/encode/decode/levels). */
export function formatOf(spec: FormatSpec): FormatDef<FormatSpec, unknown> {
  return formats[spec.format] as unknown as FormatDef<FormatSpec, unknown>;
}
