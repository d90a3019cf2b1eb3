// The coordinator side of a distributed run: one queue job per retraining run, a progress view
// over all of them, and each finished run gathered into the run directory a local run would have
// written (checkpoint.lbck, metrics.json, config.json, verified by hash). It keeps nothing that
// matters in memory: a run directory already holding the finished run is not submitted, a job
// that finished while the coordinator was away is found by its id, and a job the queue lost (a
// Redis restarted without persistence) is submitted again. Stopping and restarting it therefore
// neither loses nor repeats finished work.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { readCheckpointRaw } from '../train/checkpoint-format.js';
import { CHECKPOINT_FILE } from '../train/run-dir.js';
import type { QuantizeOptionsInput } from '../train/quantize.js';
import type { TrainConfigInput } from '../train/config.js';
import { fetchFile, openStore, putFile, sha256 } from './artifacts.js';
import {
  canonicalJson,
  jobId,
  parseResult,
  queueName,
  quantizeJob,
  resultKey,
  resumeKey,
  trainJob,
  type Job,
  type JobResult,
} from './jobs.js';
import { bullConnection, checkReachable, redisOptions, type QueueAddress } from './redis-url.js';
import { queueTimings } from './timings.js';
import type { JobProgress } from './worker.js';

/** A run to do on the queue: a retraining from a checkpoint file, or an FP training. */
export type QueuedRun = {
  label: string;
  /** Its run directory here. */
  outDir: string;
} & (
  | {
      kind: 'quantize';
      /** The options as a local `runQuantization` would get them (`from` included, as named here). */
      options: QuantizeOptionsInput;
      /** The checkpoint `from` names, on this machine (it goes to the workers as an artifact). */
      fromFile: string;
    }
  | { kind: 'train'; config: TrainConfigInput }
);

export interface QueueTarget {
  address: QueueAddress;
  /** Native threads of the workers that run the jobs (a queue per count). */
  threads: number;
  /** `redis` (default) or `dir:/shared/folder`. */
  store: string;
}

export type QueuedOutcome = { ok: true; result: JobResult; local: boolean } | { ok: false; error: string };

/** What the progress view shows, redrawn as it changes. */
export interface QueueView {
  done: number;
  failed: number;
  total: number;
  waiting: number;
  running: { label: string; progress: JobProgress | null }[];
  workers: number;
  /** Seconds to go, once there is a rate to go by. */
  etaSeconds: number | null;
}

interface Tracked {
  run: QueuedRun;
  id: string;
  spec: Job;
  outcome: QueuedOutcome | null;
}

/**
 * Runs `runs` on the queue's workers and gathers them.
 * `onDone` is called as each finishes, in completion order; the returned outcomes are in `runs` order.
 */
export async function runOnQueue(
  runs: QueuedRun[],
  target: QueueTarget,
  o: {
    onDone?(index: number, outcome: QueuedOutcome): void | Promise<void>;
    onView?(v: QueueView): void;
    /** Compute every run again: forget stored results and finished runs (`--force`). */
    fresh?: boolean;
  } = {},
): Promise<QueuedOutcome[]> {
  const t = queueTimings();
  await checkReachable(target.address);
  const redis = new Redis(redisOptions(target.address));
  const queue = new Queue(queueName(target.threads), { connection: bullConnection(target.address) });
  // A finished or failed job wakes the loop at once (its result is gathered without waiting for the
  // next look); the periodic look remains for progress and for what events cannot tell (a lost job).
  const events = new QueueEvents(queueName(target.threads), { connection: bullConnection(target.address) });
  let wake: (() => void) | null = null;
  const nudge = () => wake?.();
  events.on('completed', nudge);
  events.on('failed', nudge);
  events.on('error', () => {});
  // Results are fetched once, into their run directories: no cache copy.
  const cacheDir = null;
  try {
    const store = openStore(target.store, redis);
    // Each input checkpoint goes to the store once, however many runs start from it.
    const inputs = new Map<string, string>();
    const tracked: Tracked[] = [];
    for (const run of runs) {
      let spec: Job;
      if (run.kind === 'quantize') {
        if (!inputs.has(run.fromFile)) inputs.set(run.fromFile, await putFile(store, run.fromFile));
        spec = quantizeJob(run.options, inputs.get(run.fromFile)!, target.threads, store.spec, run.label);
      } else spec = trainJob(run.config, target.threads, store.spec, run.label);
      tracked.push({ run, id: jobId(spec), spec, outcome: null });
    }
    const finish = async (i: number, outcome: QueuedOutcome) => {
      tracked[i].outcome = outcome;
      await o.onDone?.(i, outcome);
    };
    if (o.fresh)
      for (const tr of tracked) {
        await redis.del(resultKey(tr.id), resumeKey(tr.id));
        const old = await queue.getJob(tr.id);
        if (old && ['completed', 'failed', 'waiting', 'delayed'].includes(await old.getState())) await old.remove();
      }
    // Finished here already (an earlier coordinator gathered it): nothing to submit.
    for (const [i, tr] of tracked.entries()) {
      const local = o.fresh ? null : finishedLocally(tr);
      if (local) await finish(i, { ok: true, result: local, local: true });
    }
    const retried = new Set<string>();
    const started = Date.now();
    for (;;) {
      const open = tracked.filter((tr) => !tr.outcome);
      if (open.length === 0) break;
      const running: QueueView['running'] = [];
      let waiting = 0;
      for (const tr of open) {
        const i = tracked.indexOf(tr);
        const stored = await redis.get(resultKey(tr.id));
        if (stored) {
          await finish(i, await gather(tr, parseResult(stored), store, cacheDir));
          continue;
        }
        const job = await queue.getJob(tr.id);
        if (!job) {
          await queue.add(tr.spec.kind, tr.spec, {
            jobId: tr.id,
            attempts: 3,
            backoff: { type: 'fixed', delay: 1000 },
            removeOnComplete: { age: 7 * 24 * 3600 },
            removeOnFail: { age: 7 * 24 * 3600 },
          });
          waiting++;
          continue;
        }
        const state = await job.getState();
        if (state === 'failed') {
          // Failed in an earlier coordinator's run: try once more in this one; failing again is final.
          if (!retried.has(tr.id) && job.finishedOn !== undefined && job.finishedOn < started) {
            retried.add(tr.id);
            await job.retry('failed');
            waiting++;
            continue;
          }
          await finish(i, { ok: false, error: job.failedReason || 'failed without a reason' });
        } else if (state === 'active') running.push({ label: tr.run.label, progress: (job.progress as JobProgress | null) ?? null });
        else if (state === 'completed' && job.returnvalue)
          await finish(i, await gather(tr, parseResult(JSON.stringify(job.returnvalue)), store, cacheDir));
        else waiting++;
      }
      const done = tracked.filter((tr) => tr.outcome?.ok).length;
      o.onView?.({
        done,
        failed: tracked.filter((tr) => tr.outcome && !tr.outcome.ok).length,
        total: tracked.length,
        waiting,
        running,
        workers: (await queue.getWorkersCount().catch(() => 0)) as number,
        etaSeconds: eta(tracked, running),
      });
      if (tracked.every((tr) => tr.outcome)) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, t.progressMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    return tracked.map((tr) => tr.outcome as QueuedOutcome);
  } finally {
    await events.close();
    await queue.close();
    redis.disconnect();
  }
}

/** The finished run already in the run directory, if it is this job's (same options, same input). */
function finishedLocally(tr: Tracked): JobResult | null {
  const ck = path.join(tr.run.outDir, CHECKPOINT_FILE);
  if (!existsSync(ck)) return null;
  try {
    const raw = readCheckpointRaw(ck);
    const state = raw.header.state as {
      finished?: boolean;
      options?: unknown;
      config?: unknown;
      source?: { sha256?: string };
      history?: { testAccuracy?: number }[];
      finalAccuracy?: number;
      fpAccuracy?: number;
    };
    if (!state.finished) return null;
    const spec = tr.spec;
    if (spec.kind === 'quantize' && (state.source?.sha256 !== spec.input || canonicalJson(state.options) !== canonicalJson(spec.options)))
      return null;
    if (spec.kind === 'train' && canonicalJson(state.config) !== canonicalJson(spec.options)) return null;
    const last = state.history?.[state.history.length - 1]?.testAccuracy;
    const file = (f: string) => sha256(readFileSync(path.join(tr.run.outDir, f)));
    return {
      jobId: tr.id,
      checkpoint: file(CHECKPOINT_FILE),
      metrics: file('metrics.json'),
      config: file('config.json'),
      finalAccuracy: Number(state.finalAccuracy ?? last),
      fpAccuracy: typeof state.fpAccuracy === 'number' ? state.fpAccuracy : null,
      history: (state.history ?? []) as JobResult['history'],
      worker: 'local',
      resumedFrom: 0,
      seconds: 0,
    };
  } catch {
    return null;
  }
}

/** Writes a finished job's files into its run directory (each verified by its hash on the way). */
async function gather(tr: Tracked, result: JobResult, store: ReturnType<typeof openStore>, cacheDir: null): Promise<QueuedOutcome> {
  try {
    mkdirSync(tr.run.outDir, { recursive: true });
    // The checkpoint last: a run directory with a checkpoint is a whole one.
    await fetchFile(store, result.config, path.join(tr.run.outDir, 'config.json'), cacheDir);
    await fetchFile(store, result.metrics, path.join(tr.run.outDir, 'metrics.json'), cacheDir);
    await fetchFile(store, result.checkpoint, path.join(tr.run.outDir, CHECKPOINT_FILE), cacheDir);
    return { ok: true, result, local: false };
  } catch (e) {
    return { ok: false, error: `gathering the result of ${tr.run.label}: ${(e as Error).message}` };
  }
}

/** Remaining seconds from the finished jobs' mean duration and the running jobs' progress. */
function eta(tracked: Tracked[], running: QueueView['running']): number | null {
  const durations = tracked.flatMap((tr) =>
    tr.outcome?.ok && !tr.outcome.local && tr.outcome.result.seconds > 0 ? [tr.outcome.result.seconds] : [],
  );
  const left = tracked.filter((tr) => !tr.outcome).length;
  if (left === 0) return 0;
  const per = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null;
  if (per === null) return null;
  const lanes = Math.max(1, running.length);
  return (per * left) / lanes;
}
