// `lsq`: learned step size quantization of weights (Esser et al. 2020) with PACT activations
// (learned clip, Choi et al. 2018); both parameters train with the weights.
import type { QuantMethod } from './method.js';

export const lsqMethod = {
  name: 'lsq',
  summary: 'learned step sizes for weights (LSQ) and learned clipping for activations (PACT)',
  retrains: true,
  weightFormats: ['lsq'],
  quantizeConfig: (o) => ({
    weight: { format: 'lsq', bits: o.wbits, granularity: o.granularity },
    activation: o.abits === null ? null : { format: 'pact', bits: o.abits },
    keepEndsAt8Bits: o.keepEnds,
    batchNorm: o.batchNorm,
  }),
} satisfies QuantMethod;
