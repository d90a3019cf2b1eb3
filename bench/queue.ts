// The job queue's cost per job, next to the epochs it distributes. A Redis of the bench's own and
// one `lowbit worker` process run lenet5 Fashion-MNIST retraining jobs (ste W4A4, 1 epoch on a
// subset) as one batch; the overhead per job is the coordinator's wall time minus the worker's time
// inside the training runs, over the jobs: enqueueing, the worker taking each, fetching and
// verifying inputs, every upload of a checkpoint, the results, and gathering them back (three
// verified downloads each). A single job's latency is measured too. Both
// stores are measured, and artifact transfers of a lenet5 and a vgg9 checkpoint on their own. A
// full lenet5 epoch is measured in the same run; vgg9's comes from its recorded QAT rows.
// Usage: node dist/bench/queue.js [--jobs 8] [--record results/bench-queue.json]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { initEngine } from '../src/engine/setup.js';
import { loadDataset } from '../src/data/load.js';
import { runQuantization } from '../src/train/quantize.js';
import { buildModel } from '../src/models/zoo.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { planSearch } from '../src/search/search.js';
import { runOnQueue, type QueueTarget } from '../src/queue/coordinator.js';
import { DirStore, RedisStore, type ArtifactStore } from '../src/queue/artifacts.js';
import { parseQueueUrl, redisOptions } from '../src/queue/redis-url.js';
import { startRedis } from '../test/helpers/redis.js';
import { tmpDir } from '../test/helpers/fixtures.js';
import { median, writeBenchRecord } from './step-timing.js';

const cli = new Command()
  .option('--jobs <n>', 'jobs per store (one batch)', (v) => Number(v), 8)
  .option('--limit-train <n>', 'training images per job', (v) => Number(v), 4096)
  .option('--no-plan', "skip timing the vgg9 search's sensitivity pass (its critical path starts with it)")
  .option('--record <file>', 'write the rows as a bench record')
  .parse();
const o = cli.opts<{ jobs: number; limitTrain: number; plan: boolean; record?: string }>();
const root = process.cwd();
const from = 'checkpoints/fp-fashion-lenet5.lbck';

const engine = await initEngine({ quiet: true });
const redis = await startRedis();
const address = parseQueueUrl(redis.url);
const client = new Redis(redisOptions(address));
const bin = path.join(root, 'bin', 'lowbit.js');
const worker = spawn(process.execPath, [bin, 'worker', '--queue', redis.url, '--work-dir', tmpDir(), '--quiet'], {
  env: { ...process.env, LOWBIT_CACHE: tmpDir() },
  stdio: 'ignore',
});

const jobOptions = (seed: number) => ({
  from,
  method: 'ste' as const,
  format: 'int' as const,
  wbits: 4,
  abits: 4,
  epochs: 1,
  seed,
  limitTrain: o.limitTrain,
});

/**
 * Overhead per job of a batch: `jobs` runs submitted at once to the one worker, the coordinator's
 * wall time minus the worker's time inside the runs, divided by the jobs (the steady state of a
 * search or sweep); and the latency of one job alone (the same, for a single job).
 */
async function perJob(
  store: string,
  seeds: number[],
): Promise<{ overheadMs: number; runSeconds: number; fetchMs: number; uploadMs: number }> {
  const target: QueueTarget = { address, threads: engine.threads, store };
  const t0 = performance.now();
  const outcomes = await runOnQueue(
    seeds.map((seed) => ({
      kind: 'quantize' as const,
      label: `seed ${seed}`,
      options: jobOptions(seed),
      fromFile: path.resolve(from),
      outDir: tmpDir(),
    })),
    target,
  );
  const wall = performance.now() - t0;
  const results = outcomes.map((r) => {
    if (!r.ok) throw new Error(r.error);
    return r.result;
  });
  const run = results.reduce((s, r) => s + r.seconds - r.timings!.uploadSeconds, 0);
  return {
    overheadMs: (wall - run * 1000) / seeds.length,
    runSeconds: run / seeds.length,
    fetchMs: median(results.map((r) => r.timings!.fetchSeconds * 1000)),
    uploadMs: median(results.map((r) => r.timings!.uploadSeconds * 1000)),
  };
}

async function transfers(store: ArtifactStore, bytes: Uint8Array): Promise<{ putMs: number; getMs: number }> {
  const put: number[] = [],
    get: number[] = [];
  for (let i = 0; i < 5; i++) {
    // A fresh artifact each time (the last byte changes): a put that finds it stored would cost nothing.
    const b = bytes.slice();
    b[b.length - 1] = i;
    let t = performance.now();
    const sha = await store.put(b);
    put.push(performance.now() - t);
    t = performance.now();
    await store.get(sha);
    get.push(performance.now() - t);
  }
  return { putMs: median(put), getMs: median(get) };
}

try {
  // The first job of a worker loads the dataset and fetches the input: reported apart.
  const warm = await perJob('redis', [1000]);
  const alone = await perJob('redis', [1001]);
  const redisJobs = await perJob(
    'redis',
    Array.from({ length: o.jobs }, (_, i) => 2000 + i),
  );
  const dirJobs = await perJob(
    `dir:${tmpDir()}`,
    Array.from({ length: o.jobs }, (_, i) => 3000 + i),
  );
  // Artifact transfers of a lenet5 checkpoint (as trained) and a vgg9-sized one (random weights).
  const lenetBytes = readFileSync(from);
  const vggFile = path.join(tmpDir(), 'vgg9.lbck');
  saveCheckpoint(vggFile, {
    model: buildModel('vgg9', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 }),
    modelSpec: { zoo: 'vgg9' },
    state: {},
  });
  const vggBytes = readFileSync(vggFile);
  const stores: [string, ArtifactStore][] = [
    ['redis', new RedisStore(client)],
    ['dir', new DirStore(tmpDir())],
  ];
  const transferRows = [];
  for (const [name, store] of stores)
    for (const [model, bytes] of [
      ['lenet5', lenetBytes],
      ['vgg9', vggBytes],
    ] as const)
      transferRows.push({ store: name, model, bytes: bytes.length, ...(await transfers(store, bytes)) });
  // A full lenet5 Fashion-MNIST QAT epoch, here, with the dataset already loaded (as the worker has it).
  const ds = await loadDataset('fashion-mnist');
  const epochRun = await runQuantization({ ...jobOptions(4000), limitTrain: undefined }, { outDir: tmpDir(), dataset: ds });
  const lenetEpoch = epochRun.history[0].seconds;
  const vggRecord = JSON.parse(readFileSync(path.join(root, 'results', 'fp-fashion-vgg9.fmt-int-w4a4.json'), 'utf8')) as {
    history: { seconds: number }[];
  };
  const vggEpoch = median(vggRecord.history.map((h) => h.seconds));
  // The sensitivity pass of the recorded vgg9 search (its settings), which no worker can share.
  let planSeconds: number | null = null;
  if (o.plan) {
    const fp = await loadCheckpoint('checkpoints/fp-fashion-vgg9.lbck');
    const t = performance.now();
    await planSearch(fp.model, ds, {
      accel: 'bitfusion',
      objective: 'latency',
      budgets: [0.2, 0.25],
      sensitivity: 'hessian',
      atW4A4: true,
    });
    planSeconds = (performance.now() - t) / 1000;
    fp.model.dispose();
  }
  const summary = (name: string, j: Awaited<ReturnType<typeof perJob>>, jobs: number) => ({
    store: name,
    jobs,
    limitTrain: o.limitTrain,
    overheadMs: +j.overheadMs.toFixed(1),
    fetchMs: +j.fetchMs.toFixed(1),
    uploadMs: +j.uploadMs.toFixed(1),
    jobRunSeconds: +j.runSeconds.toFixed(2),
    vsLenet5Epoch: +(j.overheadMs / 1000 / lenetEpoch).toFixed(4),
    vsVgg9Epoch: +(j.overheadMs / 1000 / vggEpoch).toFixed(6),
  });
  const rows = [
    { kind: 'per-job', ...summary('redis', redisJobs, o.jobs) },
    { kind: 'per-job', ...summary('dir', dirJobs, o.jobs) },
    { kind: 'first-job', store: 'redis', overheadMs: +warm.overheadMs.toFixed(1), fetchMs: +warm.fetchMs.toFixed(1) },
    { kind: 'one-job-latency', ...summary('redis', alone, 1) },
    ...transferRows.map((r) => ({ kind: 'transfer', ...r, putMs: +r.putMs.toFixed(2), getMs: +r.getMs.toFixed(2) })),
    {
      kind: 'epochs',
      lenet5EpochSeconds: +lenetEpoch.toFixed(2),
      vgg9EpochSeconds: +vggEpoch.toFixed(1),
      vgg9From: 'results/fp-fashion-vgg9.fmt-int-w4a4.json',
      vgg9SearchPlanSeconds: planSeconds === null ? null : +planSeconds.toFixed(1),
      threads: engine.threads,
    },
  ];
  for (const r of rows) console.log(JSON.stringify(r));
  if (o.record)
    writeBenchRecord(
      o.record,
      'bench-queue',
      `node dist/bench/queue.js --jobs ${o.jobs} --limit-train ${o.limitTrain} --record ${o.record}`,
      rows,
    );
} finally {
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  client.disconnect();
  await redis.stop();
}
