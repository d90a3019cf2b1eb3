// The retraining methods' common shape: how a method turns the user's choice of format and
// bit widths into a quantizeModel configuration, and whether it retrains.
import type { KernelCode } from '../../quant/kernel-code.js';
import type { z } from 'zod';
import type { tf, Tensor } from '../../engine/tf.js';
import type { LayerPlan, QuantizeConfig } from '../../nn/quantize-model.js';
import { QuantLayer } from '../../nn/quant-layer.js';
import type { Quantizer } from '../../nn/quantizer.js';
import type { StepHooks } from '../loop.js';
import type { LrConfig } from '../schedule.js';
import { acceptsField, activationFamilyOf, type FormatName } from '../../quant/registry.js';

export interface MethodOptions {
  /** Weight format family. */
  format: FormatName;
  wbits: number;
  /** Activation bits, or null for float activations. */
  abits: number | null;
  granularity: 'tensor' | 'channel';
  calibration: 'maxabs' | 'percentile' | 'mse';
  keepEnds: boolean;
  batchNorm: 'keep' | 'fold';
  /** Extra fields of the weight spec (e.g. { k: 1 } for esb, { kmax: 2 } for dybit). */
  formatOptions: Record<string, unknown>;
  /** Activation format family; default: dybit for dybit weights, else int. */
  activationFormat?: 'int' | 'dybit' | 'pact' | undefined;
}

export interface QuantMethod {
  name: string;
  summary: string;
  /** False for post-training quantization (calibration only). */
  retrains: boolean;
  /**
   * The weight formats the method trains: 'any' registered scalar format, or its own list (the
   * first is used when none is given). An empty list: the method stores no scalar weight format
   * (product codes), so --format and --wbits do not apply to it.
   */
  weightFormats: 'any' | readonly FormatName[];
  quantizeConfig(o: MethodOptions): QuantizeConfig;
  /**
   * The method's own options (`--method sq` takes `sq: {…}`), one zod schema: defaults, ranges and
   * descriptions in it. The quantize options, the CLI flags (`--<method>-<field>`, or the field's
   * `.meta({ flag })`; a boolean defaulting to true becomes `--no-<method>-<flag>`) and the command
   * lines of experiment records are generated from it.
   */
  options?: z.ZodType;
  /** Cross-option checks that involve the common options (e.g. --wbits against the method's own). */
  check?(o: { wbits: number; options: unknown }): { path: string; message: string }[];
  /** Methods with their own part in each training step (SQ, MPQ) start it here. */
  start?(ctx: MethodContext): MethodRun;
  /** What the run's summary (its MethodRun's `summary()`) says, in lines for the CLI. */
  describe?(summary: unknown): string[];
  /**
   * Kernels the method stores in a form of its own (pq: product codes), read from its checkpoint's
   * state, by layer; packing, the accelerator model and the report take them from here.
   */
  storedKernels?(
    ck: { state: Record<string, unknown>; arrays: Record<string, Float32Array> },
    kernelShapes: Map<string, number[]>,
  ): Map<string, KernelCode>;
}

/** What a method's run sees of the retraining it takes part in. */
export interface MethodContext {
  model: tf.LayersModel;
  plan: LayerPlan[];
  /** The method's own options (validated by the method). */
  options: unknown;
  seed: number;
  epochs: number;
  stepsPerEpoch: number;
  /** The learning-rate schedule of the whole retraining. */
  lr: LrConfig;
  /** The full-precision model the retraining starts from (a teacher for distillation; not to be changed). */
  teacher?: tf.LayersModel;
  /** n training images, normalized and not augmented, drawn by the seed (in-domain calibration inputs). */
  sampleInputs?(n: number, seed: number): Tensor;
}

/** A method's state during one retraining: step hooks, a report, and state for --resume. */
export interface MethodRun extends StepHooks {
  /** Figures for metrics.json and the results tables. */
  summary(): Record<string, unknown>;
  saveState(): { state: unknown; arrays: Record<string, Float32Array> };
  loadState(state: unknown, arrays: Record<string, Float32Array>): void;
}

/** A layer a retraining method works on: a quantized layer with its weight quantizer and kernel. */
export interface MethodLayer {
  layer: QuantLayer;
  quantizer: Quantizer;
  /** The kernel variable (the layer's first weight). */
  kernel: tf.Variable;
}

/**
 * The layers a method retrains its way: every layer with a weight quantizer except the ends
 * kept at 8 bits.
 */
export function methodLayers(model: tf.LayersModel, plan: LayerPlan[]): MethodLayer[] {
  const ends = new Set(plan.filter((p) => p.end).map((p) => p.name));
  const out: MethodLayer[] = [];
  for (const layer of model.layers)
    if (layer instanceof QuantLayer && layer.weightQ && !ends.has(layer.name))
      out.push({ layer, quantizer: layer.weightQ, kernel: layer.weights[0].read() as tf.Variable });
  return out;
}

/**
 * The weight spec for a format family at `bits`, with the fields that family understands (read
 * from its schema): granularity where it has one, the calibration where its schema takes that
 * value (po2 and MPQ fit by max-abs or MSE; a percentile calibration then applies to activations only).
 */
export function weightSpec(o: MethodOptions): Record<string, unknown> {
  const s: Record<string, unknown> = { format: o.format, bits: o.wbits, ...o.formatOptions };
  if (acceptsField(o.format, 'granularity')) s.granularity = o.granularity;
  if (acceptsField(o.format, 'calibration', o.calibration)) s.calibration = o.calibration;
  return s;
}

/** The configuration most methods retrain: the chosen weight format on each kernel, the activation family on each input. */
export function standardConfig(o: MethodOptions): QuantizeConfig {
  return { weight: weightSpec(o), activation: activationSpec(o), keepEndsAt8Bits: o.keepEnds, batchNorm: o.batchNorm };
}

/**
 * Activations after a ReLU are non-negative: an unsigned format of the chosen family (by default
 * the weights' family where it has one, dybit; else int), or PACT's learned clip.
 */
export function activationSpec(o: MethodOptions): Record<string, unknown> | null {
  if (o.abits === null) return null;
  const family = (o.activationFormat ?? activationFamilyOf(o.format)) as FormatName;
  const s: Record<string, unknown> = { format: family, bits: o.abits };
  if (acceptsField(family, 'signed')) s.signed = false;
  // A non-default calibration where the family's schema takes it (max-abs is every family's own default).
  if (o.calibration !== 'maxabs' && acceptsField(family, 'calibration', o.calibration)) s.calibration = o.calibration;
  return s;
}
