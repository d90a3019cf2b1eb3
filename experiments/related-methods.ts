// Issue 9's experiments on one FP checkpoint: the related methods of the seed page next to the
// seed-method rows, with the same budgets (the QAT epochs of issue 4's MPQ and format rows).
// SLB and DropBits at 2, 3 and 4 weight bits (4-bit int activations, MSE-fitted grids like the uniform
// baselines they are compared with: intReferenceId, the int rows on the same grid). ESB retraining with the aligner is the format rows'
// fmt-esb-w{3,4}a4 (the esb method is the same configuration), so it is not run twice.
import type { QuantExperiment } from './experiment.js';
import { intReferenceId } from './seed-methods.js';

export function relatedMethodExperiments(base: string, label: string, b: { qatEpochs: number }): QuantExperiment[] {
  const from = `checkpoints/${base}.lbck`;
  const slb: QuantExperiment[] = [2, 3, 4].map((bits) => ({
    group: 'quant',
    base,
    id: `${base}.slb-w${bits}a4`,
    title: `${label}, SLB W${bits}A4`,
    table: 'related',
    // Uniform QAT on the same grid and budget (issue 4's rows; issue 3's int W4A4 at 4 bits).
    compareTo: intReferenceId(base, bits),
    options: { from, method: 'slb', format: 'int', wbits: bits, abits: 4, calibration: 'mse', epochs: b.qatEpochs, lr: 0.01, slb: {} },
  }));
  // DropBits at a fixed width: drop rates held at their start (the regularizer; every layer keeps
  // --wbits; at 2 bits nothing is droppable and it is plain semi-relaxed quantization) ...
  const dropbits: QuantExperiment[] = [2, 3, 4].map((bits) => ({
    group: 'quant',
    base,
    id: `${base}.dropbits-w${bits}a4`,
    title: `${label}, DropBits W${bits}A4 (fixed drop rate)`,
    table: 'related',
    compareTo: intReferenceId(base, bits),
    options: {
      from,
      method: 'dropbits',
      format: 'int',
      wbits: bits,
      abits: 4,
      calibration: 'mse',
      epochs: b.qatEpochs,
      lr: 0.01,
      dropbits: { learnRates: false },
    },
  }));
  // ... and with learned drop rates from 4 bits: each layer settles on 2, 3 or 4 bits.
  dropbits.push({
    group: 'quant',
    base,
    id: `${base}.dropbits-learn-w4a4`,
    title: `${label}, DropBits learned bit widths (2-4 bits) A4`,
    table: 'related',
    compareTo: intReferenceId(base, 4),
    options: {
      from,
      method: 'dropbits',
      format: 'int',
      wbits: 4,
      abits: 4,
      calibration: 'mse',
      epochs: b.qatEpochs,
      lr: 0.01,
      dropbits: {},
    },
  });
  // Product quantization at the two block sizes (k = 256, float activations as in the paper):
  // one input channel per conv block and 4 inputs per FC block, or two channels and 8 inputs.
  const pq: QuantExperiment[] = (
    [
      ['small', 1, 4],
      ['large', 2, 8],
    ] as const
  ).map(([size, convChannels, fcBlock]) => ({
    group: 'quant',
    base,
    id: `${base}.pq-${size}`,
    title: `${label}, PQ (${size} blocks: ${convChannels} channel${convChannels > 1 ? 's' : ''} per conv block, ${fcBlock} per FC block), float activations`,
    table: 'related',
    maxDrop: 2,
    options: { from, method: 'pq', abits: null, epochs: b.qatEpochs, lr: 0.01, pq: { convChannels, fcBlock } },
  }));
  return [...slb, ...dropbits, ...pq];
}
