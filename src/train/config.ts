// The training configuration, validated once (zod) for the CLI, the library and checkpoints.
import { z } from 'zod';
import { canonicalData, DATA_HELP, isDatasetRef } from '../data/dataset-ref.js';
import { modelNames } from '../models/zoo.js';
import type { OptimizerConfig } from './optimizer.js';
import type { LrConfig, Schedule } from './schedule.js';

const positiveInt = z.number().int().positive();

/** A run's seed: every random stream derives from it (shared by the training and quantize options). */
export const seedField = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1)
  .default(1);

export const trainConfigSchema = z
  .object({
    // A zoo model, or a model file to fine-tune (an .onnx file or a tfjs model.json).
    model: z.string().refine((m) => (modelNames as string[]).includes(m) || /\.(onnx|json)$/i.test(m), {
      message: `expected a zoo model (${modelNames.join(', ')}) or an .onnx / model.json file`,
    }),
    // Canonical (an image folder's absolute path), so a resume from another directory compares equal.
    data: z
      .string()
      .refine(isDatasetRef, { message: `expected ${DATA_HELP}` })
      .transform((d) => canonicalData(d)),
    dataDir: z.string().min(1).optional(),
    epochs: positiveInt.max(100000),
    batchSize: positiveInt.max(1 << 16),
    evalBatchSize: positiveInt.max(1 << 16).default(500),
    lr: z.number().positive().max(100),
    optimizer: z.enum(['sgd', 'adam']).default('sgd'),
    momentum: z.number().min(0).max(0.9999).default(0.9),
    nesterov: z.boolean().default(false),
    weightDecay: z.number().min(0).max(1).default(5e-4),
    schedule: z.enum(['constant', 'cosine', 'step', 'multistep']).default('cosine'),
    stepEpochs: positiveInt.default(30),
    milestones: z.array(z.number().positive()).default([]),
    gamma: z.number().positive().max(1).default(0.1),
    warmupEpochs: z.number().min(0).default(0),
    seed: seedField,
    augment: z.boolean().optional(),
    limitTrain: positiveInt.optional(),
    limitTest: positiveInt.optional(),
    threads: positiveInt.max(1024).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.warmupEpochs >= c.epochs && c.warmupEpochs > 0)
      ctx.addIssue({ code: 'custom', path: ['warmupEpochs'], message: `must be less than epochs (${c.epochs})` });
    if (c.schedule === 'multistep' && c.milestones.length === 0)
      ctx.addIssue({ code: 'custom', path: ['milestones'], message: 'the multistep schedule needs at least one milestone' });
  });

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** Validates a config; the error names every offending field and what it expected. */
export function parseTrainConfig(input: unknown): TrainConfig {
  const r = trainConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const msgs = r.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
  throw new Error(`invalid training config: ${msgs.join('; ')}`);
}

export function optimizerConfig(c: TrainConfig): OptimizerConfig {
  return c.optimizer === 'sgd'
    ? { kind: 'sgd', momentum: c.momentum, weightDecay: c.weightDecay, nesterov: c.nesterov }
    : { kind: 'adam', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: c.weightDecay, decoupled: true };
}

export function lrConfig(c: TrainConfig): LrConfig {
  let schedule: Schedule;
  switch (c.schedule) {
    case 'constant':
      schedule = { kind: 'constant' };
      break;
    case 'cosine':
      schedule = { kind: 'cosine' };
      break;
    case 'step':
      schedule = { kind: 'step', stepEpochs: c.stepEpochs, gamma: c.gamma };
      break;
    case 'multistep':
      schedule = { kind: 'multistep', milestones: c.milestones, gamma: c.gamma };
      break;
    default: {
      const never: never = c.schedule;
      throw new Error(`unknown schedule ${String(never)}`);
    }
  }
  return { lr: c.lr, schedule, warmupEpochs: c.warmupEpochs, epochs: c.epochs };
}
