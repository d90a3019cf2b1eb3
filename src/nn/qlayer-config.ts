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
