// Distributed search on loopback: a Redis of the test's own, two `lowbit worker` processes and a
// coordinator (`lowbit search --queue`) run a small lenet5 search, and the front and every point's
// weights equal a local run's, bit for bit (same thread count): plainly, with one worker killed
// with kill -9 in the middle of a job (another worker resumes it from its last epoch), and with
// Redis restarted in the middle of the search.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bin, lowbit } from '../helpers/cli.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { initEngine } from '../../src/engine/setup.js';

const data = tmpDir();
let redis: TestRedis;
let localFront: Front;
const localDir = tmpDir();
// A few seconds per point: long enough to kill a worker in the middle of a job.
const searchArgs = (out: string) => [
  'search',
  '--from',
  'checkpoints/fp-mnist-lenet5.lbck',
  '--data-dir',
  data,
  '--budgets',
  '0.7',
  '--epochs',
  '3',
  '--batch-size',
  '64',
  '--limit-test',
  '200',
  '--calibration-images',
  '64',
  '--out',
  out,
  '--json',
];

interface Front {
  points: { kind: string; budget: number | null; accuracy: number; latencyMs: number; runDir: string }[];
  complete: boolean;
}

const readFront = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'front.json'), 'utf8')) as Front;

before(async () => {
  writeIdxDataset(data, 1536, 200);
  redis = await startRedis();
  await initEngine({ quiet: true });
  const r = lowbit(searchArgs(localDir));
  assert.equal(r.status, 0, r.stderr);
  localFront = readFront(localDir);
  assert.equal(localFront.points.length, 5);
});

after(async () => {
  await redis?.stop();
});

interface WorkerProc {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

function startWorkerProc(db: number): WorkerProc {
  let text = '';
  const proc = spawn(process.execPath, [bin, 'worker', '--queue', `redis://127.0.0.1:${redis.port}/${db}`, '--work-dir', tmpDir()], {
    env: { ...process.env, LOWBIT_QUEUE_LOCK_MS: '2000', LOWBIT_CACHE: tmpDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, log: () => text, exited };
}

function runCoordinator(db: number, out: string): { done: Promise<{ status: number | null; stderr: string }> } {
  let stderr = '';
  const proc = spawn(process.execPath, [bin, ...searchArgs(out), '--queue', `redis://127.0.0.1:${redis.port}/${db}`], {
    env: { ...process.env, LOWBIT_QUEUE_LOCK_MS: '2000', LOWBIT_CACHE: tmpDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { done: new Promise((resolve) => proc.once('exit', (status) => resolve({ status, stderr }))) };
}

async function until(what: string, cond: () => boolean, ms = 120000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The distributed front equals the local one, and so do every point's weights. */
async function assertSameAsLocal(dir: string): Promise<void> {
  const front = readFront(dir);
  assert.equal(front.complete, true);
  const strip = (f: Front) => f.points.map(({ runDir: _, ...p }) => p);
  assert.deepEqual(strip(front), strip(localFront));
  for (const [i, p] of front.points.entries()) {
    const [a, b] = await Promise.all([
      loadCheckpoint(path.join(p.runDir, 'checkpoint.lbck')),
      loadCheckpoint(path.join(localFront.points[i].runDir, 'checkpoint.lbck')),
    ]);
    const wa = a.model.getWeights(),
      wb = b.model.getWeights();
    assert.equal(wa.length, wb.length);
    wa.forEach((w, k) =>
      assert.ok(
        Buffer.from((w.dataSync() as Float32Array).buffer).equals(Buffer.from((wb[k].dataSync() as Float32Array).buffer)),
        `${path.basename(p.runDir)}: weight ${k} differs`,
      ),
    );
    a.model.dispose();
    b.model.dispose();
  }
}

async function stopAll(workers: WorkerProc[]): Promise<void> {
  for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}

test('two workers and a coordinator give the local front, bit for bit', async () => {
  const workers = [startWorkerProc(1), startWorkerProc(1)];
  const out = tmpDir();
  const r = await runCoordinator(1, out).done;
  assert.equal(r.status, 0, r.stderr);
  await assertSameAsLocal(out);
  // Both workers took part (five jobs of about equal length).
  for (const w of workers) assert.match(w.log(), /done, test/);
  // Resubmitted, every job is recognised by its id and nothing is computed again.
  const again = tmpDir();
  const r2 = await runCoordinator(1, again).done;
  assert.equal(r2.status, 0, r2.stderr);
  await assertSameAsLocal(again);
  await stopAll(workers);
  // Started once each: points with the same configuration share one job (same id), and the second
  // search started none.
  const ids = workers.flatMap((w) => [...w.log().matchAll(/: starting \(job (\w+)/g)].map((m) => m[1]));
  assert.equal(new Set(ids).size, ids.length, `a job started twice:\n${workers.map((w) => w.log()).join('\n---\n')}`);
  assert.ok(ids.length >= 4, `${ids.length} jobs for 5 points`);
});

test('a worker killed with kill -9 in the middle of a job: another resumes it from its last epoch, same front', async () => {
  const a = startWorkerProc(2),
    b = startWorkerProc(2);
  const out = tmpDir();
  const coord = runCoordinator(2, out);
  // Killed right after an epoch of a job: it is in the middle of that job's next epoch.
  await until('an epoch on worker a', () => /epoch 1\/3/.test(a.log()));
  a.proc.kill('SIGKILL');
  await a.exited;
  const r = await coord.done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(b.log(), /resuming after epoch [12]/, 'the stalled job continued on the other worker from its stored epoch');
  await assertSameAsLocal(out);
  await stopAll([b]);
});

test('Redis restarted in the middle of the search: everyone reconnects and the search completes', async () => {
  const workers = [startWorkerProc(3), startWorkerProc(3)];
  const out = tmpDir();
  const coord = runCoordinator(3, out);
  await until('a finished job', () => workers.some((w) => /done, test/.test(w.log())));
  await redis.restart();
  const r = await coord.done;
  assert.equal(r.status, 0, r.stderr);
  await assertSameAsLocal(out);
  await stopAll(workers);
});

test('SIGTERM: the worker puts its job back and exits; the job finishes elsewhere from its last epoch', async () => {
  const a = startWorkerProc(4);
  const out = tmpDir();
  const coord = runCoordinator(4, out);
  await until('an epoch on worker a', () => /epoch 1\/3/.test(a.log()));
  a.proc.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  assert.match(a.log(), /put back on the queue after [12] epochs/);
  const b = startWorkerProc(4);
  const r = await coord.done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(b.log(), /resuming after epoch [12]/);
  await assertSameAsLocal(out);
  await stopAll([b]);
});

test('the coordinator killed and restarted with --resume: nothing finished is lost or computed twice', async () => {
  const workers = [startWorkerProc(5), startWorkerProc(5)];
  const out = tmpDir();
  let stderr = '';
  const first = spawn(process.execPath, [bin, ...searchArgs(out), '--queue', `redis://127.0.0.1:${redis.port}/5`], {
    env: { ...process.env, LOWBIT_QUEUE_LOCK_MS: '2000', LOWBIT_CACHE: tmpDir() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  first.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await until('a finished job', () => workers.some((w) => /done, test/.test(w.log())));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  // The workers go on with what was submitted; the new coordinator finds it by job id.
  const args = [...searchArgs(out), '--queue', `redis://127.0.0.1:${redis.port}/5`, '--resume'];
  const second = lowbit(args, { env: { LOWBIT_QUEUE_LOCK_MS: '2000', LOWBIT_CACHE: tmpDir() }, timeoutMs: 300000 });
  assert.equal(second.status, 0, `${second.stderr}\n${stderr}`);
  await assertSameAsLocal(out);
  await stopAll(workers);
  const ids = workers.flatMap((w) => [...w.log().matchAll(/: starting \(job (\w+)/g)].map((m) => m[1]));
  assert.equal(new Set(ids).size, ids.length, `a job started twice:\n${workers.map((w) => w.log()).join('\n---\n')}`);
});
