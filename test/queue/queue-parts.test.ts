// The parts of distributed runs, in one process against a Redis of the test's own: queue URLs,
// job ids, both artifact stores (verified transfers, damaged and hostile artifacts, the worker's
// cache), and a job that fails the same way three times is reported failed, not waited for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { tmpDir } from '../helpers/fixtures.js';
import { lowbit, oneLineError } from '../helpers/cli.js';
import { parseQueueUrl, redisOptions, bullConnection } from '../../src/queue/redis-url.js';
import { canonicalJson, jobId, quantizeJob, queueName } from '../../src/queue/jobs.js';
import { DirStore, fetchFile, openStore, RedisStore, sha256, type ArtifactStore } from '../../src/queue/artifacts.js';
import { runOnQueue } from '../../src/queue/coordinator.js';
import { startWorker } from '../../src/queue/worker.js';
import { initEngine } from '../../src/engine/setup.js';

let redis: TestRedis;
let client: Redis;
before(async () => {
  redis = await startRedis();
  client = new Redis(redisOptions(parseQueueUrl(`${redis.url.replace(/\/0$/, '/5')}`)));
});
after(async () => {
  client?.disconnect();
  await redis?.stop();
});

test('queue URLs: host, port, database; mistakes are one line', () => {
  const a = parseQueueUrl('redis://:secret@queue.lan:6380/3');
  assert.deepEqual([a.host, a.port, a.db, a.password, a.display], ['queue.lan', 6380, 3, 'secret', 'redis://queue.lan:6380/3']);
  assert.deepEqual([parseQueueUrl('redis://h').port, parseQueueUrl('redis://h').db], [6379, 0]);
  assert.throws(() => parseQueueUrl('queue.lan:6379'), /not a URL; expected redis:\/\/host:port\/db|the scheme is queue\.lan/);
  assert.throws(() => parseQueueUrl('http://h:1/0'), /the scheme is http; expected redis:\/\/host:port\/db/);
  assert.throws(() => parseQueueUrl('redis://h:1/16'), /database '16' is not 0\.\.15/);
  assert.throws(() => parseQueueUrl('redis://h:1/0?x=1'), /unexpected '\?x=1'/);
});

test('a queue that cannot be reached is one line, from the worker and from a search, before any work', () => {
  oneLineError(
    lowbit(['worker', '--queue', 'redis://127.0.0.1:1/0']),
    /--queue redis:\/\/127\.0\.0\.1:1\/0: cannot reach Redis \(ECONNREFUSED\)/,
  );
  const t0 = Date.now();
  oneLineError(
    lowbit(['search', '--from', 'checkpoints/fp-mnist-lenet5.lbck', '--out', tmpDir(), '--queue', 'redis://127.0.0.1:1/0']),
    /cannot reach Redis \(ECONNREFUSED\)/,
  );
  assert.ok(Date.now() - t0 < 30000, 'refused before the sensitivity pass');
  oneLineError(lowbit(['worker', '--queue', 'http://127.0.0.1:1/0']), /the scheme is http; expected redis:\/\/host:port\/db/);
});

test('job ids: the resolved options, the input and the thread count decide; key order and written-out defaults do not', () => {
  const input = 'a'.repeat(64);
  const base = { from: 'fp.lbck', method: 'ste', wbits: 4, abits: 4, epochs: 2 } as const;
  const id = jobId(quantizeJob(base, input, 2, 'redis', 'p'));
  assert.equal(
    jobId(quantizeJob({ epochs: 2, abits: 4, wbits: 4, method: 'ste', from: 'fp.lbck' }, input, 2, 'dir:/x', 'another label')),
    id,
  );
  const resolved = quantizeJob(base, input, 2, 'redis', 'p').options;
  assert.equal(jobId(quantizeJob(resolved as never, input, 2, 'redis', 'p')), id, 'defaults written out');
  assert.notEqual(jobId(quantizeJob({ ...base, epochs: 3 }, input, 2, 'redis', 'p')), id);
  assert.notEqual(jobId(quantizeJob(base, 'b'.repeat(64), 2, 'redis', 'p')), id);
  assert.notEqual(jobId(quantizeJob(base, input, 1, 'redis', 'p')), id);
  assert.equal(queueName(2), 'lowbit-t2');
  assert.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: undefined }), '{"b":[1,{"c":2,"d":1}]}');
  assert.throws(() => quantizeJob({ ...base, epochs: 0 }, input, 2, 'redis', 'p'), /epochs/);
});

async function storeContract(store: ArtifactStore, damage: (sha: string, bytes: Uint8Array) => Promise<void>): Promise<void> {
  const bytes = new TextEncoder().encode('a checkpoint, say');
  const sha = await store.put(bytes);
  assert.equal(sha, sha256(bytes));
  assert.equal(await store.put(bytes), sha, 'storing again is a no-op');
  assert.ok(await store.has(sha));
  assert.deepEqual(Buffer.from(await store.get(sha)), Buffer.from(bytes));
  const missing = sha256(new Uint8Array([1]));
  assert.equal(await store.has(missing), false);
  await assert.rejects(store.get(missing), /artifact [0-9a-f]{12}… is not in/);
  await assert.rejects(store.get('../../etc/passwd'), /is not a sha256/);
  // Valid content of another artifact stored under this one's name: the hash gives it away.
  await damage(sha, new TextEncoder().encode('another checkpoint'));
  await assert.rejects(store.get(sha), /is damaged: its 18 bytes hash to/);
}

test('artifact stores: a shared folder and Redis, verified both ways', async () => {
  const root = tmpDir();
  await storeContract(new DirStore(root), async (sha, other) => writeFileSync(path.join(root, sha.slice(0, 2), sha), other));
  await storeContract(new RedisStore(client), async (sha, other) => void (await client.set(`lowbit:artifact:${sha}`, Buffer.from(other))));
  assert.equal(openStore('redis', client).spec, 'redis');
  assert.equal(openStore(`dir:${root}`, client).spec, `dir:${root}`);
  assert.throws(() => openStore('s3://bucket', client), /--store s3:\/\/bucket: expected redis or dir:<shared folder>/);
});

test("a worker's cache: fetched once, verified on use, fetched again when damaged", async () => {
  const store = new DirStore(tmpDir());
  let gets = 0;
  const counting: ArtifactStore = {
    spec: store.spec,
    put: (b) => store.put(b),
    has: (s) => store.has(s),
    get: (s) => (gets++, store.get(s)),
  };
  const sha = await store.put(new TextEncoder().encode('weights'));
  const cache = tmpDir(),
    out = tmpDir();
  assert.deepEqual(await fetchFile(counting, sha, path.join(out, 'a.lbck'), cache), { fetched: true });
  assert.deepEqual(await fetchFile(counting, sha, path.join(out, 'b.lbck'), cache), { fetched: false });
  assert.equal(gets, 1);
  writeFileSync(path.join(cache, sha), 'tampered');
  assert.deepEqual(await fetchFile(counting, sha, path.join(out, 'c.lbck'), cache), { fetched: true });
  assert.equal(readFileSync(path.join(out, 'c.lbck'), 'utf8'), 'weights');
});

test('a job that fails the same way three times is reported failed with its error', async () => {
  process.env.LOWBIT_QUEUE_LOCK_MS = '2000';
  const engine = await initEngine({ quiet: true });
  const address = parseQueueUrl(redis.url.replace(/\/0$/, '/6'));
  const lines: string[] = [];
  const worker = await startWorker({
    address,
    threads: engine.threads,
    workRoot: tmpDir(),
    cacheDir: tmpDir(),
    onStatus: (l) => lines.push(l),
  });
  try {
    const outDir = path.join(tmpDir(), 'run');
    const t0 = Date.now();
    const outcomes = await runOnQueue(
      [
        {
          kind: 'quantize',
          fromFile: 'checkpoints/fp-mnist-lenet5.lbck',
          label: 'doomed',
          options: { from: 'checkpoints/fp-mnist-lenet5.lbck', method: 'ste', wbits: 4, abits: 4, epochs: 1, dataDir: '/nonexistent/data' },
          outDir,
        },
      ],
      { address, threads: engine.threads, store: 'redis' },
    );
    assert.equal(outcomes.length, 1);
    const o = outcomes[0];
    assert.ok(!o.ok);
    assert.match(o.error, /data directory \/nonexistent\/data does not exist/);
    assert.ok(Date.now() - t0 < 60000, 'reported, not waited for');
    const q = new Queue(queueName(engine.threads), { connection: bullConnection(address) });
    const [job] = await q.getJobs(['failed']);
    assert.equal(job.attemptsMade, 3);
    await q.close();
    assert.equal(lines.filter((l) => /doomed: starting/.test(l)).length, 3);
  } finally {
    await worker.stop();
    delete process.env.LOWBIT_QUEUE_LOCK_MS;
  }
});
