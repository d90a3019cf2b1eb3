// The retraining methods' common shape: how a method turns the user's choice of format and
// bit widths into a quantizeModel configuration, and whether it retrains.
import type { QuantizeConfig } from '../../nn/quantize-model.js';
import type { FormatName } from '../../quant/registry.js';

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
}

export interface QuantMethod {
  name: string;
  summary: string;
  /** False for post-training quantization (calibration only). */
  retrains: boolean;
  quantizeConfig(o: MethodOptions): QuantizeConfig;
}

/** The weight spec for a format family at `bits`, with the fields that family understands. */
export function weightSpec(o: MethodOptions): Record<string, unknown> {
  const s: Record<string, unknown> = { format: o.format, bits: o.wbits, ...o.formatOptions };
  if (['int', 'po2', 'lsq', 'esb', 'dybit', 'mpq', 'binary', 'ternary'].includes(o.format)) s.granularity = o.granularity;
  if (o.format === 'int' || (o.format === 'po2' && o.calibration !== 'percentile')) s.calibration = o.calibration;
  if (o.format === 'binary' || o.format === 'ternary') delete s.bits;
  return s;
}

/**
 * Activations after a ReLU are non-negative: an unsigned format of the same family where one
 * exists (int, dybit), else unsigned int.
 */
export function activationSpec(o: MethodOptions): Record<string, unknown> | null {
  if (o.abits === null) return null;
  if (o.format === 'dybit') return { format: 'dybit', bits: o.abits, signed: false };
  const s: Record<string, unknown> = { format: 'int', bits: o.abits, signed: false };
  if (o.calibration !== 'maxabs') s.calibration = o.calibration;
  return s;
}
