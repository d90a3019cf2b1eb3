// Shared configuration of the quantized layers: the specs of their weight and input quantizers
// and the quantizer state, serialised with the layer (so a saved model keeps its calibration).
import type { QuantizerState } from './quantizer.js';

export interface QuantLayerArgs {
  /** Spec of the weight format, or null for float weights. */
  weightQuant?: unknown | null;
  /** Spec of the input-activation format, or null for float inputs. */
  inputQuant?: unknown | null;
  /** Training steps between refits of non-learned weight parameters. */
  refitEvery?: number | null;
  weightState?: QuantizerState;
  inputState?: QuantizerState;
}

/** The JSON part of a quantizer's state (MPQ flags live apart, in Quantizer.flags and the checkpoint's arrays). */
export function serialisableState(s: QuantizerState): QuantizerState {
  const p = s.params as Record<string, unknown> | null;
  if (p && 'flags' in p) return { ...s, params: null };
  return s;
}

export type Pair = [number, number];

/** The window of a quantized conv as tfjs layers configure one. */
export interface WindowArgs {
  name?: string;
  kernelSize: number | Pair;
  strides?: number | Pair;
  padding?: 'same' | 'valid';
  dilationRate?: number | Pair;
  useBias?: boolean;
  activation?: 'linear' | 'relu' | null;
}

const pair = (v: number | number[] | undefined, d: number): Pair =>
  v === undefined ? [d, d] : Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];

/** A conv layer's window settings with their defaults; `cls` names the layer class in errors. */
export function windowConfig(args: WindowArgs, cls: string) {
  const activation = args.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu')
    throw new Error(`${cls} ${args.name}: activation '${activation}' not supported (expected linear or relu)`);
  return {
    kernelSize: pair(args.kernelSize, 1),
    strides: pair(args.strides, 1),
    padding: args.padding ?? ('valid' as const),
    dilationRate: pair(args.dilationRate, 1),
    useBias: args.useBias ?? true,
    activation: activation as 'linear' | 'relu',
  };
}
