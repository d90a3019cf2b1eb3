// Issue 9's experiments on one FP checkpoint: the related methods of the seed page next to the
// seed-method rows, with the same budgets (the QAT epochs of issue 4's MPQ and format rows).
// SLB at 2, 3 and 4 weight bits (4-bit int activations, MSE-fitted grids like the uniform
// baselines it is compared with). ESB retraining with the aligner is the format rows'
// fmt-esb-w{3,4}a4 (the esb method is the same configuration), so it is not run twice.
import type { QuantExperiment } from './registry.js';

export function relatedMethodExperiments(base: string, label: string, b: { qatEpochs: number }): QuantExperiment[] {
  const from = `checkpoints/${base}.lbck`;
  return [2, 3, 4].map((bits) => ({
    group: 'quant',
    base,
    id: `${base}.slb-w${bits}a4`,
    title: `${label}, SLB W${bits}A4`,
    table: 'related',
    // Uniform QAT on the same grid and budget (issue 4's rows; issue 3's int W4A4 at 4 bits).
    compareTo: `${base}.ste-int-w${bits}a4`,
    options: { from, method: 'slb', format: 'int', wbits: bits, abits: 4, calibration: 'mse', epochs: b.qatEpochs, lr: 0.01, slb: {} },
  }));
}
