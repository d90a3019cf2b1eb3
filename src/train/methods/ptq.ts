// `ptq`: post-training quantization, no retraining. Weights are fitted directly; activation
// ranges come from calibration batches with min-max, percentile or MSE-optimal calibration.
import { standardConfig, type QuantMethod } from './method.js';

export const ptqMethod = {
  name: 'ptq',
  summary: 'post-training quantization with min-max, percentile or MSE calibration',
  retrains: false,
  weightFormats: 'any',
  quantizeConfig: standardConfig,
} satisfies QuantMethod;
