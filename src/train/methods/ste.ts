// `ste`: plain quantization-aware training of any format with straight-through gradients
// (the format's declared rule), weights and activations.
import { standardConfig, type QuantMethod } from './method.js';

export const steMethod = {
  name: 'ste',
  summary: 'quantization-aware retraining with straight-through gradients, any format',
  retrains: true,
  weightFormats: 'any',
  quantizeConfig: standardConfig,
} satisfies QuantMethod;
