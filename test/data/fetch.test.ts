// `lowbit data fetch` against a loopback HTTP server serving fixtures: verified downloads are
// written, damaged or missing ones are refused and leave nothing behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fetchDataset } from '../../src/data/fetch.js';
import { loadDataset } from '../../src/data/load.js';
import { cifarBatch, idxPair, tarOf, tmpDir } from '../helpers/fixtures.js';

const served = new Map<string, Uint8Array>();
const server = http.createServer((req, res) => {
  const body = served.get(req.url ?? '');
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-length': body.length }).end(Buffer.from(body));
});
const ready = new Promise<string>((resolve) =>
  server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)),
);
after(() => server.close());

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('idx dataset: downloads, verifies the content hash, writes files the loader reads', async () => {
  const base = await ready;
  const tr = idxPair(30),
    te = idxPair(10, 28, 28, 7);
  const files = Object.entries({
    'train-images-idx3-ubyte': tr.images,
    'train-labels-idx1-ubyte': tr.labels,
    't10k-images-idx3-ubyte': te.images,
    't10k-labels-idx1-ubyte': te.labels,
  }).map(([name, content]) => {
    served.set(`/fm/${name}.gz`, gzipSync(content));
    return { name: `${name}.gz`, contentSha256: sha(content) };
  });
  const out = tmpDir();
  const dir = await fetchDataset('fashion-mnist', { baseUrl: `${base}fm/`, outDir: out, files });
  assert.equal((await loadDataset('fashion-mnist', { dataDir: dir })).train.count, 30);
});

test('a damaged or missing download is refused and nothing is written', async () => {
  const base = await ready;
  const content = idxPair(5).labels;
  served.set('/bad/a.gz', gzipSync(content));
  served.set('/bad/b.gz', gzipSync(Buffer.from('not the right bytes')));
  const out = tmpDir();
  await assert.rejects(
    fetchDataset('mnist', {
      baseUrl: `${base}bad/`,
      outDir: out,
      files: [
        { name: 'a.gz', contentSha256: sha(content) },
        { name: 'b.gz', contentSha256: sha(content) },
      ],
    }),
    /b\.gz: sha256 of the content is [0-9a-f]{64}, expected/,
  );
  assert.deepEqual(readdirSync(out), []);
  await assert.rejects(
    fetchDataset('mnist', { baseUrl: `${base}bad/`, outDir: out, files: [{ name: 'missing.gz', sha256: 'x' }] }),
    /HTTP 404/,
  );
  await assert.rejects(fetchDataset('mnist', { baseUrl: 'ftp://example/', outDir: out }), /Error: baseUrl must be an http\(s\) URL/);
});

test('cifar10: the archive hash is checked and only the batch files are extracted', async () => {
  const base = await ready;
  const members: Record<string, Uint8Array> = { 'batches.meta.txt': Buffer.from('airplane\n') };
  for (let i = 1; i <= 5; i++) members[`data_batch_${i}.bin`] = cifarBatch(2, i);
  members['test_batch.bin'] = cifarBatch(2, 8);
  members['../../evil.bin'] = Buffer.from('x');
  const archive = gzipSync(tarOf(members));
  served.set('/c/cifar-10-binary.tar.gz', archive);
  const out = tmpDir();
  const dir = await fetchDataset('cifar10', {
    baseUrl: `${base}c/`,
    outDir: out,
    files: [{ name: 'cifar-10-binary.tar.gz', sha256: sha(archive), bytes: archive.length }],
  });
  assert.equal((await loadDataset('cifar10', { dataDir: dir })).train.count, 10);
  assert.ok(!existsSync(path.join(out, '..', 'evil.bin')) && !existsSync(path.join(out, 'evil.bin')));
  assert.deepEqual(readFileSync(path.join(out, 'cifar-10-batches-bin', 'test_batch.bin')), Buffer.from(members['test_batch.bin']));
  const out2 = tmpDir();
  await assert.rejects(
    fetchDataset('cifar10', {
      baseUrl: `${base}c/`,
      outDir: out2,
      files: [{ name: 'cifar-10-binary.tar.gz', sha256: '0'.repeat(64), bytes: archive.length }],
    }),
    /sha256 [0-9a-f]{64}, expected 0000/,
  );
  assert.deepEqual(readdirSync(out2), []);
});
