// The registry of number formats: one line per format. Everything else (training, packing,
// export, the accelerator model, the conformance suite) finds formats here.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { $ZodType } from 'zod/v4/core';
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
import { bumpRegistryVersion } from '../util/registry-version.js';

// The specs' error messages in English (zod/mini ships none by default; the full zod sets the same).
z.config(en());

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
  const r = z.safeParse(formats[name as FormatName].schema, input);
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

// Format facts for generic code: read from each definition, never from a list of format names.

/** The learned-parameter description of a format (LSQ's step, PACT's clip), or null for fitted formats. */
export function learnedOf(spec: FormatSpec): NonNullable<NonNullable<FormatDef<FormatSpec, unknown>['training']>['learned']> | null {
  return formatOf(spec).training?.learned ?? null;
}

/** Training steps between refits when the user sets none. */
export function defaultRefitEvery(spec: FormatSpec): number {
  return formatOf(spec).training?.refitEvery?.(spec) ?? 1;
}

/** Whether an EMA of the batch range is a valid calibration of the format. */
export function isRangeCalibrated(spec: FormatSpec): boolean {
  return formatOf(spec).training?.rangeCalibrated?.(spec) ?? false;
}

/** Whether the format has negative values. */
export function isSigned(spec: FormatSpec): boolean {
  const own = formatOf(spec).signed;
  if (own) return own(spec);
  return 'signed' in spec ? spec.signed !== false : true;
}

/** Whether a format's spec takes the field (with this value, when one is given): read from its schema. */
export function acceptsField(format: FormatName, field: string, value?: unknown): boolean {
  if (!Object.prototype.hasOwnProperty.call(formats, format)) return false;
  const shape = (formats[format].schema as unknown as { shape?: Record<string, $ZodType> }).shape;
  const f = shape?.[field];
  if (!f) return false;
  return value === undefined || z.safeParse(f, value).success;
}

/** The activation format family that pairs with a weight format by default. */
export function activationFamilyOf(format: FormatName): string {
  return formats[format].activationFamily ?? 'int';
}

/**
 * Registers a number format at run time, as a plugin or a test does: it is then a `--format`
 * choice, trains, packs, runs and exports like the built-in ones listed above. Its spec type is
 * outside FormatSpec's static union, so library code sees it through the generic FormatDef.
 */
export function registerFormat(def: FormatDef<never, never>): void {
  const name = def.name as string;
  if (!/^[a-z][a-z0-9]*$/.test(name)) throw new Error(`format name '${name}' must be lower-case letters and digits`);
  if (Object.prototype.hasOwnProperty.call(formats, name)) throw new Error(`format '${name}' is already registered`);
  (formats as unknown as Record<string, unknown>)[name] = def;
  formatNames.push(name as FormatName);
  bumpRegistryVersion();
}
