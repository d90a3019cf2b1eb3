// Accelerator configurations and energy tables (SPEC.md §5): JSON data validated with zod.
// Presets and tables ship as data files in presets/ and tables/, each number with its source;
// a user's own accelerator is a JSON file of the same shape.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { READ_LIMITS, readJsonFile } from '../util/read.js';
import bitfusion from './presets/bitfusion.json' with { type: 'json' };
import mpq65 from './presets/mpq65.json' with { type: 'json' };
import int8 from './presets/int8.json' with { type: 'json' };
import fp32 from './presets/fp32.json' with { type: 'json' };
import horowitz45 from './tables/horowitz-45nm.json' with { type: 'json' };
import scaled65 from './tables/scaled-65nm.json' with { type: 'json' };
import { OptionError, opt } from '../util/option-error.js';

const positive = z.number().positive().finite();
const sourced = <T extends z.ZodRawShape>(shape: T) => z.object({ ...shape, source: z.string().min(1) }).strict();

const fullTableSchema = z
  .object({
    name: z.string().min(1),
    technologyNm: positive,
    source: z.string().min(1),
    intMult: sourced({ a: positive, b: z.number().min(0) }),
    intAdd: sourced({ perBit: positive }),
    fp32Mult: sourced({ pj: positive }),
    fp32Add: sourced({ pj: positive }),
    sram: sourced({
      points: z
        .array(z.object({ kb: positive, pjPer64Bits: positive }).strict())
        .min(1)
        .refine((p) => p.every((x, i) => i === 0 || x.kb > p[i - 1].kb), 'sram points must be sorted by size, ascending'),
    }),
    dram: sourced({ pjPerBit: positive }),
  })
  .strict();

/** A table derived from another by one factor on every on-chip energy (DRAM kept). */
const scaledTableSchema = z
  .object({ name: z.string().min(1), technologyNm: positive, scaleFrom: z.string().min(1), scale: positive, source: z.string().min(1) })
  .strict();

export type EnergyTable = z.output<typeof fullTableSchema>;

const builtinTables: Record<string, unknown> = { 'horowitz-45nm': horowitz45, 'scaled-65nm': scaled65 };

const tableCache = new Map<string, EnergyTable>();

/** The energy table of that name, scaled tables resolved (validated once, then cached: the search calls this in its inner loop). */
export function energyTable(name: string): EnergyTable {
  let t = tableCache.get(name);
  if (!t) tableCache.set(name, (t = buildTable(name)));
  return t;
}

function buildTable(name: string): EnergyTable {
  const raw = builtinTables[name];
  if (!raw) throw new Error(`unknown energy table '${name}' (known: ${Object.keys(builtinTables).join(', ')})`);
  const scaled = scaledTableSchema.safeParse(raw);
  if (scaled.success) {
    const s = scaled.data;
    const base = energyTable(s.scaleFrom);
    const k = s.scale;
    const note = `${base.name} × ${k}`;
    return {
      name: s.name,
      technologyNm: s.technologyNm,
      source: s.source,
      intMult: { a: base.intMult.a * k, b: base.intMult.b * k, source: note },
      intAdd: { perBit: base.intAdd.perBit * k, source: note },
      fp32Mult: { pj: base.fp32Mult.pj * k, source: note },
      fp32Add: { pj: base.fp32Add.pj * k, source: note },
      sram: { points: base.sram.points.map((p) => ({ kb: p.kb, pjPer64Bits: p.pjPer64Bits * k })), source: note },
      dram: base.dram,
    };
  }
  return parseOrThrow(fullTableSchema, raw, `energy table ${name}`);
}

export const acceleratorSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    /** Integer bit-brick array, or float32 MAC units (the FP32 baseline). */
    arithmetic: z.enum(['int', 'fp32']),
    array: z.object({ rows: z.number().int().min(1).max(4096), cols: z.number().int().min(1).max(4096) }).strict(),
    /** Width of one bit-brick multiplier (2 for Bit Fusion; 8 for a fixed INT8 array). */
    brickBits: z.number().int().min(1).max(32),
    /** Bit-bricks per processing element (16 in a Bit Fusion unit). */
    bricksPerPe: z.number().int().min(1).max(256),
    /** Operand widths the array fuses; narrower operands are rounded up to the next one. */
    precisions: z
      .array(z.number().int().min(1).max(32))
      .min(1)
      .refine((p) => p.every((x, i) => i === 0 || x > p[i - 1]), 'precisions must be ascending'),
    // Bounds of real hardware, loose by orders of magnitude: outside them the cost model's numbers
    // overflow or vanish (a 1e308 MHz clock gives NaN latencies) instead of describing a machine.
    clockMHz: z.number().min(1).max(1e5),
    sramKB: z
      .object({
        weights: z.number().min(0.0625).max(1e7),
        activations: z.number().min(0.0625).max(1e7),
        outputs: z.number().min(0.0625).max(1e7),
      })
      .strict(),
    dramGBps: z.number().min(0.001).max(1e6),
    accumulatorBits: z.number().int().min(8).max(64).default(32),
    energyTable: z.string().min(1),
    sources: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.arithmetic === 'int' && a.precisions[a.precisions.length - 1] < a.brickBits)
      ctx.addIssue({ code: 'custom', path: ['precisions'], message: `the widest precision must be at least brickBits (${a.brickBits})` });
  });

export type Accelerator = z.output<typeof acceleratorSchema>;

function parseOrThrow<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  throw new Error(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')}`);
}

export const presets: Record<string, unknown> = { bitfusion, mpq65, int8, fp32 };
export const presetNames = Object.keys(presets);

/** Validates an accelerator configuration; its energy table must exist. */
export function parseAccelerator(raw: unknown, what = 'accelerator config'): Accelerator {
  const a = parseOrThrow(acceleratorSchema, raw, what);
  energyTable(a.energyTable);
  return a;
}

const presetCache = new Map<string, Accelerator>();

/** A preset by name, or a JSON file with an accelerator configuration. */
export function loadAccelerator(nameOrFile: string): Accelerator {
  if (presets[nameOrFile]) {
    let a = presetCache.get(nameOrFile);
    if (!a) presetCache.set(nameOrFile, (a = parseAccelerator(presets[nameOrFile], `preset ${nameOrFile}`)));
    return a;
  }
  if (!existsSync(nameOrFile))
    throw new OptionError(`${opt('accel')}: '${nameOrFile}' is neither a preset (${presetNames.join(', ')}) nor an existing JSON file`);
  return parseAccelerator(readJsonFile(nameOrFile, 'an accelerator config', READ_LIMITS.accelerator), nameOrFile);
}
