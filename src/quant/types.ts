// The shape every number format shares (DESIGN.md "Declared once"): one definition object per
// format, read by training (fake quantization), packing, export and the accelerator model.
import type { $ZodType } from 'zod/v4/core';

/** Per-output-channel parameters run along the last axis (HWIO conv kernels, [in, out] dense kernels). */
export type Granularity = 'tensor' | 'channel';

/** How the packer stores a quantized tensor. */
export type Storage =
  | { kind: 'fixed'; bitsPerValue: number }
  /** MPQ: baseBits per weight, plus one extra bit per flagged weight, plus the flag index. */
  | { kind: 'mpq'; baseBits: number };

/** What the accelerator model needs to cost a format. */
export interface HardwareDescriptor {
  /** Operand width the multiplier array sees (bit-brick sizing). */
  operandBits: number;
  /** Width of the multiplier actually needed (DyBit: r+1-bit mantissa). */
  multiplierBits: number;
  /** Extra logic per value fetched: none, a DyBit field decoder, a shifter (po2). */
  decoder: 'none' | 'dybit' | 'shift';
  /** MPQ: flagged weights take one more bit-brick pass. */
  extraPassForFlagged: boolean;
}

/**
 * The arithmetic family and parameters of a format's fake quantization, for the native kernels
 * (native/src/fakequant.cc). Derived from the format's own parameters by its `plan`.
 */
export type QuantPlan =
  | { kind: 'uniform'; scale: Float32Array; zeroPoint: Float32Array; qmin: number; qmax: number; flags?: Uint8Array }
  | { kind: 'binary'; scale: Float32Array }
  | { kind: 'ternary'; scale: Float32Array; threshold: number }
  /** Per-channel ascending magnitudes (already scaled), `length` entries each. */
  | { kind: 'table'; tables: Float32Array; length: number; signed: boolean }
  | { kind: 'esb'; alpha: Float32Array; bits: number; k: number };

export interface FitOptions {
  /** Calibration data is activations (unsigned formats may ignore negatives). */
  role?: 'weight' | 'activation';
}

/**
 * A number format. Codes are integers whose order is the order of the values they decode to;
 * fake quantization in training is exactly decode(encode(x)).
 */
export interface FormatDef<S extends { format: string; bits: number }, P> {
  name: S['format'];
  /** Strict schema of the spec (plain JSON). */
  schema: $ZodType<S>;
  summary: string;
  /** Specs the conformance and fake-quantization suites exercise it with (inputs to parseFormatSpec); at least one. */
  examples: readonly unknown[];
  /** The straight-through gradient rule, in one line. */
  gradientRule: string;
  /** True if encode picks the nearest representable value (ties to even). */
  roundsToNearest: boolean;
  /** Parameters from data (scales, zero points, format knobs); JSON-safe except MPQ flags. */
  fit(x: Float32Array, shape: readonly number[], spec: S, opts?: FitOptions): P;
  encode(x: Float32Array, shape: readonly number[], spec: S, params: P): Int32Array;
  decode(codes: Int32Array, shape: readonly number[], spec: S, params: P): Float32Array;
  /** How many channels the parameters describe (1 for per-tensor). */
  channels(params: P): number;
  /** Every representable value of a channel, ascending (float32 values). */
  levels(spec: S, params: P, channel: number): Float64Array;
  /** Smallest and largest code (the packer stores code - minCode in storage bits). */
  codeRange(spec: S): [number, number];
  /** The gradient rule: does the upstream gradient pass at input value v of this channel? */
  passes(v: number, spec: S, params: P, channel: number): boolean;
  /** What the native fake-quantization kernel computes for these parameters. */
  plan(spec: S, params: P): QuantPlan;
  storage(spec: S): Storage;
  hardware(spec: S): HardwareDescriptor;
  /** How training keeps the parameters; every field optional (the defaults are in registry.ts). */
  training?: TrainingFacts<S, P>;
  /** Whether the format has negative values (default: the spec's `signed`, else true). */
  signed?(spec: S): boolean;
  /** The activation format family a weight format pairs with by default (DyBit weights → DyBit activations; default int). */
  activationFamily?: string;
}

/** What the trainer (nn/quantizer.ts) needs of a format, declared with the format. */
export interface TrainingFacts<S, P> {
  /** Training steps between refits when the user sets none (default 1: a fit that is one pass over the data). */
  refitEvery?(spec: S): number;
  /** The fit depends only on the range, so an EMA of the batch range is a valid calibration (default false). */
  rangeCalibrated?(spec: S): boolean;
  /**
   * Parameters trained as a variable of the layer instead of fitted: LSQ's step, PACT's clip. The
   * variable holds `values(fit(data))` at the start; `params(values)` turns it back into the
   * format's own parameters for encode/decode and packing.
   */
  learned?: {
    /** Which trained parameter it is: the fake-quantization rule that reads it (quant/fake-quant.ts). */
    kind: 'step' | 'clip';
    shape(spec: S, channels: number): number[];
    values(params: P): number[];
    params(values: number[], spec: S): P;
  };
}
