// What a distributed job is: a retraining run (the options of `lowbit quantize`, with its input
// checkpoint as an artifact) or a full-precision training run (an experiment's FP row), its id, the
// queue it goes on, and the result a worker leaves.
// The id is the sha256 of the resolved options, the input checkpoint's sha256, the thread count and
// lowbit's version: a resubmitted job is recognised by it and never computed twice, and two jobs
// that could give different bits never share one.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseQuantizeOptions, type QuantizeOptionsInput } from '../train/quantize.js';
import { parseTrainConfig, type TrainConfigInput } from '../train/config.js';
import type { EpochRecord } from '../train/loop.js';
import { packageVersion } from '../util/version.js';

export const JOB_FORMAT = 1 as const;

/** One retraining run as a queue job. */
export interface QuantizeJob {
  kind: 'quantize';
  format: typeof JOB_FORMAT;
  /** Resolved options; `from` keeps the coordinator's name for the input (it is recorded in the run). */
  options: Record<string, unknown>;
  /** sha256 of the input checkpoint, in the artifact store. */
  input: string;
  /** Native threads: results are bit-identical at the same count, so it routes the job (see queueName). */
  threads: number;
  /** Where the artifacts are: `redis` or `dir:/shared/path`. */
  store: string;
  version: string;
  /** A few words for progress views (e.g. "point 03-budget-0.5"). */
  label: string;
}

/** A full-precision training run (the config of `lowbit train`); it has no input checkpoint. */
export interface TrainJob {
  kind: 'train';
  format: typeof JOB_FORMAT;
  options: Record<string, unknown>;
  threads: number;
  store: string;
  version: string;
  label: string;
}

export type Job = QuantizeJob | TrainJob;

const sha = z.string().regex(/^[0-9a-f]{64}$/);

const common = {
  format: z.literal(JOB_FORMAT),
  options: z.record(z.string(), z.unknown()),
  threads: z.number().int().min(1).max(1024),
  store: z.string().min(1),
  version: z.string().min(1),
  label: z.string().max(200),
};

export const jobSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('quantize'), input: sha, ...common }).strict(),
  z.object({ kind: z.literal('train'), ...common }).strict(),
]);

/** What a finished job leaves (as the BullMQ return value and, durably, under lowbit:result:<id>). */
export interface JobResult {
  jobId: string;
  /** sha256 of the final checkpoint, metrics.json and config.json of the run directory. */
  checkpoint: string;
  metrics: string;
  config: string;
  finalAccuracy: number;
  /** The starting checkpoint's accuracy (quantize jobs; null for training). */
  fpAccuracy: number | null;
  history: EpochRecord[];
  /** The worker that finished it, and the epochs it resumed from (0 for a fresh start). */
  worker: string;
  resumedFrom: number;
  seconds: number;
  /** Where the worker's time went: fetching inputs, transfers to the store (every epoch's and the final files), and the rest (the run). */
  timings?: { fetchSeconds: number; uploadSeconds: number };
}

export const jobResultSchema = z
  .object({
    jobId: sha,
    checkpoint: sha,
    metrics: sha,
    config: sha,
    finalAccuracy: z.number(),
    fpAccuracy: z.number().nullable(),
    history: z.array(z.record(z.string(), z.unknown())),
    worker: z.string(),
    resumedFrom: z.number().int().min(0),
    seconds: z.number().min(0),
    timings: z
      .object({ fetchSeconds: z.number().min(0), uploadSeconds: z.number().min(0) })
      .strict()
      .optional(),
  })
  .strict();

/** A stored result, checked (it comes from Redis, written by another process). */
export function parseResult(text: string): JobResult {
  return jobResultSchema.parse(JSON.parse(text)) as unknown as JobResult;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** What every job carries besides its kind, options and input. */
function envelope(options: Record<string, unknown>, threads: number, store: string, label: string) {
  return { format: JOB_FORMAT, options, threads, store, version: packageVersion(), label };
}

/** A quantize job for `options` whose input checkpoint has sha256 `input`. */
export function quantizeJob(options: QuantizeOptionsInput, input: string, threads: number, store: string, label: string): QuantizeJob {
  // Resolved, so that a default written out and a default left out are the same job.
  const resolved = parseQuantizeOptions({ ...options, threads }) as Record<string, unknown>;
  return { kind: 'quantize', input, ...envelope(resolved, threads, store, label) };
}

/** An FP training job for `config`. */
export function trainJob(config: TrainConfigInput, threads: number, store: string, label: string): TrainJob {
  const resolved = parseTrainConfig({ ...config, threads }) as Record<string, unknown>;
  return { kind: 'train', ...envelope(resolved, threads, store, label) };
}

/** The job's id: sha256 of everything that decides its result (the store and label do not). */
export function jobId(j: Job): string {
  const { store: _store, label: _label, ...decides } = j;
  return createHash('sha256').update(canonicalJson(decides)).digest('hex');
}

/** Jobs of one thread count go on their own queue, so that a worker only takes jobs it computes bit for bit. */
export function queueName(threads: number): string {
  return `lowbit-t${threads}`;
}

export const resultKey = (id: string) => `lowbit:result:${id}`;
/** The sha256 of the newest epoch checkpoint of a running job (its resume point). */
export const resumeKey = (id: string) => `lowbit:resume:${id}`;
