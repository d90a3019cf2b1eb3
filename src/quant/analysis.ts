// How well a format represents a tensor: mean squared error and signal-to-quantization-noise
// ratio of decode(encode(x)) with parameters fitted to x.
import { formatOf, parseFormatSpec, type FormatSpec } from './registry.js';

export interface FormatError {
  spec: FormatSpec;
  mse: number;
  /** 10·log10(Σx² / Σ(x - q)²) in dB; Infinity when exact. */
  sqnr: number;
}

export function formatError(x: Float32Array, shape: readonly number[], specInput: unknown): FormatError {
  const spec = parseFormatSpec(specInput);
  const def = formatOf(spec);
  const params = def.fit(x, shape, spec);
  const q = def.decode(def.encode(x, shape, spec, params), shape, spec, params);
  let se = 0,
    sig = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - q[i];
    se += d * d;
    sig += x[i] * x[i];
  }
  return { spec, mse: se / Math.max(x.length, 1), sqnr: se === 0 ? Infinity : 10 * Math.log10(sig / se) };
}

/** The candidate formats compared for weights at a bit width (each valid spec of that width). */
export function weightCandidates(bits: number): { label: string; spec: Record<string, unknown> }[] {
  const out: { label: string; spec: Record<string, unknown> }[] = [
    { label: 'int/ch', spec: { format: 'int', bits, granularity: 'channel' } },
    { label: 'int-mse/ch', spec: { format: 'int', bits, granularity: 'channel', calibration: 'mse' } },
    { label: 'po2', spec: { format: 'po2', bits } },
    { label: 'esb', spec: { format: 'esb', bits, k: Math.max(0, Math.min(bits - 2, bits - 3)) } },
    { label: 'dybit', spec: { format: 'dybit', bits } },
  ];
  if (bits === 2) out.push({ label: 'ternary', spec: { format: 'ternary' } });
  return out;
}

/** Candidate formats for non-negative (post-ReLU) activations at a bit width. */
export function activationCandidates(bits: number): { label: string; spec: Record<string, unknown> }[] {
  return [
    { label: 'uint', spec: { format: 'int', bits, signed: false } },
    { label: 'uint-mse', spec: { format: 'int', bits, signed: false, calibration: 'mse' } },
    { label: 'pact-init', spec: { format: 'pact', bits } },
    { label: 'dybit', spec: { format: 'dybit', bits, signed: false } },
  ];
}
