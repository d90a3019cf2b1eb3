// The quantization every inference benchmark runs: int weights per channel and unsigned int
// activations of the same width, batch norm folded (first conv and last FC stay at 8 bits).
import type { QuantizeConfig } from '../src/nn/quantize-model.js';

export const intConfig = (bits: number): QuantizeConfig => ({
  weight: { format: 'int', bits, granularity: 'channel' },
  activation: { format: 'int', bits, signed: false },
  batchNorm: 'fold',
});
