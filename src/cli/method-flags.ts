// The `lowbit quantize` flags of each method's own options, generated from the method's schema
// (its file declares defaults, ranges, descriptions and flag names; nothing here names a method):
//   - a field becomes `--<method>-<flag>`, the flag being the field's `.meta({ flag })` or its
//     kebab-cased name; numbers, lists of numbers and enums take a value;
//   - a boolean that defaults to true becomes the switch `--no-<method>-<flag>`, one that defaults
//     to false `--<method>-<flag>`;
//   - `.meta({ off: { flag, value } })` adds `--no-<method>-<off.flag>`, which sets the field to that
//     value (MPQ's gradient scale 1: no threshold-aware learning rate).
// The same table turns flags into options and options back into flags (experiment records).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from 'zod';
import { methodNames, methodOf, registryVersion } from '../train/methods/registry.js';

interface FieldMeta {
  flag?: string;
  off?: { flag: string; value: unknown; help: string };
  description?: string;
}

export interface MethodFlag {
  method: string;
  /** The option (field of the method's schema) the flag sets. */
  key: string;
  /** As the user types it: --sq-stages, --no-sq-restart. */
  long: string;
  /** What commander names it (camel case, without the no-). */
  attribute: string;
  /** A value flag, or a switch setting `value` when given. */
  kind: 'value' | 'switch';
  value?: unknown;
  parse?(v: string): unknown;
  help: string;
}

const kebab = (camel: string) => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The field's own type under its default/optional wrappers, with its default. */
function unwrap(field: z.ZodType): { inner: z.ZodType; def: unknown } {
  let t = field as unknown as { def: { type: string; innerType?: z.ZodType; defaultValue?: unknown } };
  let def: unknown;
  while (t.def.type === 'default' || t.def.type === 'optional') {
    if (t.def.type === 'default') def = t.def.defaultValue;
    t = t.def.innerType as unknown as typeof t;
  }
  return { inner: t as unknown as z.ZodType, def };
}

const number = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number.');
  return n;
};
const numbers = (v: string): number[] => {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '' || !Number.isFinite(Number(p))))
    throw new InvalidArgumentError('expected comma-separated numbers, e.g. 0.5,1.');
  return parts.map(Number);
};

function flagsOfField(method: string, key: string, field: z.ZodType): MethodFlag[] {
  const meta = ((field as unknown as { meta(): FieldMeta | undefined }).meta() ?? {}) as FieldMeta;
  const name = meta.flag ?? kebab(key);
  const { inner, def } = unwrap(field);
  const type = (inner as unknown as { def: { type: string; element?: z.ZodType; entries?: Record<string, string> } }).def;
  const about = `${method}: ${meta.description ?? key}`;
  const out: MethodFlag[] = [];
  if (type.type === 'boolean') {
    const on = def !== true;
    out.push({
      method,
      key,
      long: on ? `--${method}-${name}` : `--no-${method}-${name}`,
      attribute: camel(`${method}-${name}`),
      kind: 'switch',
      value: on,
      help: on ? about : `${about}; on by default, this flag turns it off`,
    });
  } else {
    let parse: (v: string) => unknown;
    if (type.type === 'number') parse = number;
    else if (type.type === 'array') parse = numbers;
    else if (type.type === 'enum') {
      const choices = Object.values(type.entries ?? {});
      parse = (v) => {
        if (!choices.includes(v)) throw new InvalidArgumentError(`expected one of: ${choices.join(', ')}.`);
        return v;
      };
    } else throw new Error(`${method} option '${key}': a ${type.type} field has no command-line form`);
    const shown =
      def === undefined
        ? ''
        : ` (default ${Array.isArray(def) ? def.join(',') : Number.isFinite(def) ? +(def as number).toPrecision(4) : String(def)})`;
    out.push({
      method,
      key,
      long: `--${method}-${name}`,
      attribute: camel(`${method}-${name}`),
      kind: 'value',
      parse,
      help: `${about}${shown}`,
    });
  }
  if (meta.off)
    out.push({
      method,
      key,
      long: `--no-${method}-${meta.off.flag}`,
      attribute: camel(`${method}-${meta.off.flag}`),
      kind: 'switch',
      value: meta.off.value,
      help: `${method}: ${meta.off.help}`,
    });
  return out;
}

let table: { version: number; flags: MethodFlag[] } | null = null;

/** Every method's flags, in registry order (built again when a method is registered). */
export function methodFlags(): MethodFlag[] {
  if (table?.version !== registryVersion())
    table = {
      version: registryVersion(),
      flags: methodNames.flatMap((m) => {
        const schema = methodOf(m).options as unknown as { shape?: Record<string, z.ZodType> } | undefined;
        return Object.entries(schema?.shape ?? {}).flatMap(([k, f]) => flagsOfField(m, k, f));
      }),
    };
  return table.flags;
}

/** Adds the method flags to the quantize command. */
export function addMethodFlags(cmd: Command): Command {
  for (const f of methodFlags()) {
    const o = new Option(f.kind === 'value' ? `${f.long} <value>` : f.long, f.help);
    if (f.parse) o.argParser(f.parse);
    cmd.addOption(o);
  }
  return cmd;
}

/** A switch is given when commander's attribute differs from its default (a --no- switch reads false). */
const given = (f: MethodFlag, flags: Record<string, unknown>): boolean =>
  f.kind === 'value'
    ? flags[f.attribute] !== undefined
    : f.long.startsWith('--no-')
      ? flags[f.attribute] === false
      : flags[f.attribute] === true;

/** The options of `method` set by the flags given (an omitted flag leaves the method's default). */
export function methodOptionsFromFlags(method: string, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const by = new Map<string, MethodFlag>();
  for (const f of methodFlags().filter((x) => x.method === method && given(x, flags))) {
    const other = by.get(f.key);
    // A plain Error, printed by main: a CommanderError raised in an action passes as already reported.
    if (other) throw new Error(`${other.long} and ${f.long} contradict each other`);
    by.set(f.key, f);
    out[f.key] = f.kind === 'value' ? flags[f.attribute] : f.value;
  }
  return out;
}

/** The flags that give a method these options (a switch left at the default prints nothing). */
export function methodFlagsFor(method: string, options: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    const fs = methodFlags().filter((f) => f.method === method && f.key === k);
    const sw = fs.find((f) => f.kind === 'switch' && JSON.stringify(f.value) === JSON.stringify(v));
    const vf = fs.find((f) => f.kind === 'value');
    if (sw) out.push(sw.long);
    else if (vf) out.push(`${vf.long} ${Array.isArray(v) ? v.join(',') : String(v)}`);
    // A switch-only option at its default: no flag says so.
    else if (fs.length === 0) throw new Error(`${method} option '${k}' has no command-line flag`);
  }
  return out;
}
