// Option parsers shared by commands: each rejects bad input with a message naming what it expected.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DATA_HELP, parseDatasetRef } from '../data/dataset-ref.js';
import { readCheckpointRaw } from '../train/checkpoint-format.js';
import { CHECKPOINT_FILE } from '../train/run-dir.js';

/** `--data`: a registered dataset or folder:<dir>[?options] (checked here, made canonical by the stage). */
export function datasetArg(v: string): string {
  try {
    parseDatasetRef(v);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message.replace(/\.$/, '')}.`);
  }
  return v;
}

/** `--data <name>` with its help text; `what` says what the dataset is for. */
export function dataOption(what: string): Option {
  return new Option('--data <name>', `${what}: ${DATA_HELP}`).argParser(datasetArg);
}

/** `--skip-bad`: image folders skip unreadable images (counted) instead of stopping at the first. */
export function skipBadOption(): Option {
  return new Option('--skip-bad', 'image folders: skip images that cannot be decoded (and count them) instead of stopping');
}

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
  force?: boolean;
  extendEpochs?: boolean;
  allowPartial?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** The entries of o that are set: what a command passes on for the flags the user gave. */
export function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The option names (camel-cased) the user gave on the command line, as opposed to defaults. */
export function givenFlags(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

/**
 * The settings a `--resume` continues with: the run's own, with only the flags the user gave laid
 * over them (so `--resume` alone continues the run, and a given flag that differs is refused by
 * the resume check, naming the field). `key` is where the checkpoint keeps them; `optionOf` maps a
 * flag to the setting it sets (null for flags that set none).
 */
export function resumeSettings<T extends Record<string, unknown>>(
  outDir: string,
  key: 'config' | 'options',
  current: T,
  given: Set<string>,
  optionOf: (flag: string) => string | null,
): T {
  const file = path.join(outDir, CHECKPOINT_FILE);
  if (!existsSync(file)) return current;
  const saved = readCheckpointRaw(file).header.state[key];
  if (saved === null || typeof saved !== 'object') throw new Error(`--resume: ${file} does not record its settings`);
  const keys = new Set([...given].map(optionOf).filter((k): k is string => k !== null));
  return { ...(saved as T), ...Object.fromEntries(Object.entries(current).filter(([k]) => keys.has(k))) };
}

/** Flags of the run commands that are not settings of the run. */
export const RUN_CONTROL_FLAGS = new Set(['out', 'resume', 'force', 'extendEpochs', 'allowPartial', 'json', 'quiet']);
