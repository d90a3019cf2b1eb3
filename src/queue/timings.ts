// How fast the queue notices things. A dead worker's job is handed on after its lock expires
// (lockMs) at the next stalled check (stalledMs). A live worker renews its lock between training
// steps, but an evaluation or a calibration runs for many seconds without a pause (vgg9's test
// set: 10-20 s on 2 cores), so the default lock is two minutes: a lost worker costs its job about
// three minutes, against epochs of minutes. LOWBIT_QUEUE_LOCK_MS shortens both, for tests that kill
// workers on purpose.
export interface QueueTimings {
  lockMs: number;
  stalledMs: number;
  /** How often a worker reports its job's step, and the coordinator redraws its view. */
  progressMs: number;
}

export function queueTimings(): QueueTimings {
  const env = process.env.LOWBIT_QUEUE_LOCK_MS;
  const lock = env === undefined ? 120000 : Number(env);
  if (!Number.isInteger(lock) || lock < 1000 || lock > 3600000)
    throw new Error(`LOWBIT_QUEUE_LOCK_MS=${env}: expected milliseconds between 1000 and 3600000`);
  return { lockMs: lock, stalledMs: Math.max(500, Math.round(lock / 2)), progressMs: Math.min(2000, Math.round(lock / 4)) };
}
