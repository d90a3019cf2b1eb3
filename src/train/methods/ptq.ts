// `ptq`: post-training quantization, no retraining. Weights are fitted directly; activation
// ranges come from calibration batches with min-max, percentile or MSE-optimal calibration.
import { activationSpec, weightSpec, type QuantMethod } from './method.js';

export const ptqMethod: QuantMethod = {
  name: 'ptq',
  summary: 'post-training quantization with min-max, percentile or MSE calibration',
  retrains: false,
  weightFormats: 'any',
  quantizeConfig: (o) => ({ weight: weightSpec(o), activation: activationSpec(o), keepEndsAt8Bits: o.keepEnds, batchNorm: o.batchNorm }),
};
