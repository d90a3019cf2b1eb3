// Named experiments: each is a fixed configuration whose run writes results/<id>.json.
// The FP runs also write checkpoints/<id>.lbck, the starting point of every later method.
import type { TrainConfigInput } from '../src/train/config.js';

export interface Experiment {
  id: string;
  title: string;
  group: 'fp';
  config: TrainConfigInput;
  /** Target accuracy from the issue, shown beside the result. */
  target?: number;
  /** Keep a weights-only checkpoint in checkpoints/ for later experiments. */
  keepCheckpoint: boolean;
}

export const experiments: Experiment[] = [
  {
    id: 'fp-mnist-lenet5',
    title: 'MNIST, lenet5, FP32',
    group: 'fp',
    config: { model: 'lenet5', data: 'mnist', epochs: 20, batchSize: 128, lr: 0.05, schedule: 'cosine', weightDecay: 5e-4, seed: 1 },
    target: 0.99,
    keepCheckpoint: true,
  },
  {
    id: 'fp-fashion-lenet5',
    title: 'Fashion-MNIST, lenet5, FP32',
    group: 'fp',
    config: {
      model: 'lenet5',
      data: 'fashion-mnist',
      epochs: 30,
      batchSize: 128,
      lr: 0.05,
      schedule: 'cosine',
      weightDecay: 5e-4,
      seed: 1,
    },
    target: 0.9,
    keepCheckpoint: true,
  },
  {
    id: 'fp-fashion-vgg9',
    title: 'Fashion-MNIST, vgg9, FP32',
    group: 'fp',
    // Crop (padding 4) + horizontal flip: Fashion-MNIST items are left-right symmetric classes.
    config: {
      model: 'vgg9',
      data: 'fashion-mnist',
      epochs: 20,
      batchSize: 128,
      lr: 0.05,
      schedule: 'cosine',
      weightDecay: 5e-4,
      augment: true,
      seed: 1,
    },
    target: 0.93,
    keepCheckpoint: true,
  },
];

export function findExperiment(id: string): Experiment {
  const e = experiments.find((x) => x.id === id);
  if (!e) throw new Error(`unknown experiment '${id}'; known: ${experiments.map((x) => x.id).join(', ')}`);
  return e;
}

/** The `lowbit train` command line equivalent to an experiment's configuration. */
export function cliFor(e: Experiment, out: string): string {
  const c = e.config;
  const parts = [`lowbit train --model ${c.model} --data ${c.data} --epochs ${c.epochs} --batch-size ${c.batchSize} --lr ${c.lr}`];
  if (c.schedule) parts.push(`--schedule ${c.schedule}`);
  if (c.weightDecay !== undefined) parts.push(`--weight-decay ${c.weightDecay}`);
  if (c.augment === true) parts.push('--augment');
  if (c.augment === false) parts.push('--no-augment');
  if (c.seed !== undefined) parts.push(`--seed ${c.seed}`);
  parts.push(`--out ${out}`);
  return parts.join(' ');
}
