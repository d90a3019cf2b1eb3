// `lowbit worker`: takes retraining jobs from the queue and runs them with the same function as
// a local run (runQuantization), in a work directory of its own. After every epoch the checkpoint
// goes to the artifact store and becomes the job's resume point, so a job whose worker dies
// (kill -9: BullMQ sees its lock expire and hands it to another worker) or stops (SIGTERM: the job
// is put back at once) continues from its last epoch on whichever worker takes it next.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { readCheckpointRaw } from '../train/checkpoint-format.js';
import { runQuantization } from '../train/quantize.js';
import { runTraining } from '../train/train.js';
import { StoppedError, type EpochRecord } from '../train/loop.js';
import { CHECKPOINT_FILE } from '../train/run-dir.js';
import { defaultCacheDir } from '../data/datasets.js';
import { canonicalData } from '../data/dataset-ref.js';
import { datasetOfModel } from '../data/model-data.js';
import { loadDataset, type Dataset } from '../data/load.js';
import { fetchFile, openStore, putFile } from './artifacts.js';
import { jobId, jobSchema, parseResult, queueName, resultKey, resumeKey, type Job as JobSpec, type JobResult } from './jobs.js';
import { bullConnection, redisOptions, type QueueAddress } from './redis-url.js';
import { queueTimings } from './timings.js';

export interface WorkerOptions {
  address: QueueAddress;
  threads: number;
  concurrency?: number;
  /** Holds this worker's job directories (default: ~/.cache/lowbit/work). */
  workRoot?: string;
  /** The local copy of artifacts (default: ~/.cache/lowbit/artifacts). */
  cacheDir?: string;
  dataDir?: string;
  /** Status lines: a job taken, an epoch done, a job finished or put back. */
  onStatus?(line: string): void;
}

/** The progress a worker reports on its job (BullMQ job progress), read by the coordinator's view. */
export interface JobProgress {
  worker: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Epochs this attempt resumed from. */
  resumedFrom: number;
  startedAt: number;
}

export interface RunningWorker {
  name: string;
  /** Stops taking jobs; a running job stops at its next step and goes back to the queue. */
  stop(): Promise<void>;
  /** Settles when the worker has stopped. */
  closed: Promise<void>;
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const name = `${os.hostname()}:${process.pid}`;
  const status = o.onStatus ?? (() => {});
  const redis = new Redis(redisOptions(o.address));
  const workDir = path.join(o.workRoot ?? defaultCacheDir('work'), name.replace(/[^\w.-]/g, '_'));
  const cacheDir = o.cacheDir ?? defaultCacheDir('artifacts');
  const stopping = new AbortController();
  const t = queueTimings();
  // Datasets stay loaded between jobs (a search's points share one): decoding one per job would
  // cost more than the queue itself.
  const datasets = new Map<string, Promise<Dataset>>();
  const cachedDataset = (key: string, load: () => Promise<Dataset>): Promise<Dataset> => {
    if (!datasets.has(key)) {
      const p = load();
      p.catch(() => datasets.delete(key));
      datasets.set(key, p);
    }
    return datasets.get(key)!;
  };

  async function processJob(job: Job, token?: string): Promise<JobResult> {
    const parsed = jobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`job ${job.id}: not a lowbit job (${parsed.error.issues[0]?.message})`);
    const spec = parsed.data as JobSpec;
    const id = jobId(spec);
    if (job.id !== id) throw new UnrecoverableError(`job ${job.id}: its id is not the hash of its content (${id.slice(0, 12)}…)`);
    const done = await redis.get(resultKey(id));
    if (done) return parseResult(done);
    const store = openStore(spec.store, redis);
    const dir = path.join(workDir, id.slice(0, 16));
    rmSync(dir, { recursive: true, force: true });
    const runDir = path.join(dir, 'run');
    mkdirSync(runDir, { recursive: true });
    const input = path.join(dir, 'input.lbck');
    const tFetch = performance.now();
    let uploadMs = 0;
    if (spec.kind === 'quantize') await fetchFile(store, spec.input, input, cacheDir);
    const resumeSha = await redis.get(resumeKey(id));
    let resumedFrom = 0;
    if (resumeSha) {
      await fetchFile(store, resumeSha, path.join(runDir, CHECKPOINT_FILE), cacheDir);
      const h = readCheckpointRaw(path.join(runDir, CHECKPOINT_FILE)).header.state.history;
      resumedFrom = Array.isArray(h) ? h.length : 0;
    }
    status(`${spec.label}: ${resumedFrom ? `resuming after epoch ${resumedFrom}` : 'starting'} (job ${id.slice(0, 12)}…)`);
    // A job that does not say where its data is reads it where this worker was told (--data-dir).
    const options: Record<string, unknown> = {
      ...spec.options,
      ...(o.dataDir && spec.options.dataDir === undefined ? { dataDir: o.dataDir } : {}),
    };
    const dataDir = typeof options.dataDir === 'string' ? { dataDir: options.dataDir } : {};
    let dataset: Dataset;
    if (spec.kind === 'quantize') {
      const modelSpec = readCheckpointRaw(input).header.modelSpec;
      // Keyed by what the model records of its data: the same folder with other classes is another dataset.
      dataset = await cachedDataset(`${JSON.stringify([modelSpec.dataset, modelSpec.data])}${dataDir.dataDir ?? ''}`, () =>
        datasetOfModel(modelSpec, spec.label, dataDir),
      );
    } else {
      const name = canonicalData(String(options.data));
      dataset = await cachedDataset(`${JSON.stringify([name])}${dataDir.dataDir ?? ''}`, () => loadDataset(name, dataDir));
    }
    const fetchSeconds = (performance.now() - tFetch) / 1000;
    const t0 = performance.now();
    const progress: JobProgress = {
      worker: name,
      epoch: resumedFrom,
      epochs: Number(spec.options.epochs),
      step: 0,
      steps: 0,
      resumedFrom,
      startedAt: Date.now(),
    };
    let lastReport = 0;
    const report = () => {
      lastReport = performance.now();
      job.updateProgress({ ...progress }).catch(() => {});
    };
    report();
    const events = {
      onStep: (e: { epoch: number; step: number; steps: number }) => {
        progress.epoch = e.epoch;
        progress.step = e.step;
        progress.steps = e.steps;
        if (performance.now() - lastReport > t.progressMs) report();
      },
    };
    const control = {
      signal: stopping.signal,
      afterSave: async (h: EpochRecord[]) => {
        // The epoch's checkpoint is the job's resume point before the next epoch starts.
        const tu = performance.now();
        const sha = await putFile(store, path.join(runDir, CHECKPOINT_FILE));
        await redis.set(resumeKey(id), sha);
        uploadMs += performance.now() - tu;
        progress.epoch = h.length;
        progress.step = 0;
        report();
        status(`${spec.label}: epoch ${h.length}/${progress.epochs}, test ${(100 * h[h.length - 1].testAccuracy).toFixed(2)}%`);
      },
    };
    // The same functions as a local run, resuming whatever the run directory holds.
    let r: { history: EpochRecord[]; finalAccuracy: number; fpAccuracy: number | null };
    try {
      if (spec.kind === 'quantize') {
        const q = await runQuantization(options as never, { outDir: runDir, resume: true, fromFile: input, dataset, events, control });
        r = { history: q.history, finalAccuracy: q.finalAccuracy, fpAccuracy: q.fpAccuracy };
        // A worker lives for many jobs: the run's model (it is in the checkpoint) is freed now.
        q.model.dispose();
      } else {
        const tr = await runTraining(options as never, { outDir: runDir, resume: true, dataset, events, control });
        r = { history: tr.history, finalAccuracy: tr.history[tr.history.length - 1]?.testAccuracy ?? 0, fpAccuracy: null };
        tr.model.dispose();
      }
    } catch (e) {
      if (e instanceof StoppedError && token) {
        // SIGTERM: back to the queue now (another worker resumes from the stored epoch), not failed.
        await job.moveToWait(token);
        status(`${spec.label}: put back on the queue after ${e.epochsDone} epochs`);
        throw new WaitingError();
      }
      throw e;
    }
    const upload = async (f: string) => {
      const tu = performance.now();
      const sha = await putFile(store, path.join(runDir, f));
      uploadMs += performance.now() - tu;
      return sha;
    };
    const result: JobResult = {
      jobId: id,
      checkpoint: await upload(CHECKPOINT_FILE),
      metrics: await upload('metrics.json'),
      config: await upload('config.json'),
      finalAccuracy: r.finalAccuracy,
      fpAccuracy: r.fpAccuracy,
      history: r.history,
      worker: name,
      resumedFrom,
      seconds: (performance.now() - t0) / 1000,
      timings: { fetchSeconds, uploadSeconds: uploadMs / 1000 },
    };
    // Durable beyond BullMQ's job retention: a resubmitted job finds its result here.
    await redis.set(resultKey(id), JSON.stringify(result));
    await redis.del(resumeKey(id));
    rmSync(dir, { recursive: true, force: true });
    status(`${spec.label}: done, test ${(100 * r.finalAccuracy).toFixed(2)}% in ${result.seconds.toFixed(1)} s`);
    return result;
  }

  const worker = new Worker(queueName(o.threads), processJob, {
    connection: bullConnection(o.address),
    concurrency: o.concurrency ?? 1,
    lockDuration: t.lockMs,
    stalledInterval: t.stalledMs,
    // A job whose worker dies is handed on this many times before it counts as failed.
    maxStalledCount: 5,
    autorun: true,
  });
  worker.on('error', (e) => status(`queue: ${e.message}`));
  await worker.waitUntilReady();
  status(
    `worker ${name}: taking jobs with ${o.threads} thread${o.threads === 1 ? '' : 's'} from ${o.address.display} (queue ${queueName(o.threads)})`,
  );
  let closing: Promise<void> | null = null;
  const closed = new Promise<void>((resolve) => worker.on('closed', () => resolve()));
  return {
    name,
    closed,
    stop: () => {
      closing ??= (async () => {
        stopping.abort();
        await worker.close();
        redis.disconnect();
        if (existsSync(workDir)) rmSync(workDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
