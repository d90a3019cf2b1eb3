// `ste`: plain quantization-aware training of any format with straight-through gradients
// (the format's declared rule), weights and activations.
import { activationSpec, weightSpec, type QuantMethod } from './method.js';

export const steMethod: QuantMethod = {
  name: 'ste',
  summary: 'quantization-aware retraining with straight-through gradients, any format',
  retrains: true,
  weightFormats: 'any',
  quantizeConfig: (o) => ({ weight: weightSpec(o), activation: activationSpec(o), keepEndsAt8Bits: o.keepEnds, batchNorm: o.batchNorm }),
};
