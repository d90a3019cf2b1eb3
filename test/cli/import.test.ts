// `lowbit import` end to end on tiny data: a LeNet exported by PyTorch (test/fixtures/onnx) goes
// import → quantize → search → pack → run → export from the CLI, and a wrong dataset, a damaged
// file or an occupied run directory stop with one line and leave nothing behind.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lowbit, oneLineError, repoRoot } from '../helpers/cli.js';
import { tf } from '../../src/engine/tf.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'onnx');
const lenet = path.join(fixtures, 'lenet-op13.onnx');
const data = tmpDir();
before(() => writeIdxDataset(data, 300, 100));

const importArgs = (file: string, out: string, ...more: string[]) => [
  'import',
  file,
  '--data',
  'fashion-mnist',
  '--data-dir',
  data,
  '--out',
  out,
  ...more,
];

test('an imported PyTorch LeNet goes through quantize, search, pack, run and export', () => {
  const fp = tmpDir();
  const r = lowbit(importArgs(lenet, fp, '--json', '--fold-bn'));
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as {
    inputShape: number[];
    numClasses: number;
    source: { sha256: string; opset: number };
    folded: { batchNorm: number };
  };
  assert.deepEqual(res.inputShape, [28, 28, 1]);
  assert.equal(res.numClasses, 10);
  assert.equal(res.source.sha256, createHash('sha256').update(readFileSync(lenet)).digest('hex'));
  assert.equal(res.source.opset, 13);
  // torch.onnx.export folded the batch norm into the conv already: nothing is left to fold.
  assert.equal(res.folded.batchNorm, 0);
  const q = tmpDir();
  const common = ['--data-dir', data, '--batch-size', '32', '--quiet'];
  const steps: string[][] = [
    ['quantize', '--from', fp, '--method', 'ste', '--wbits', '4', '--abits', '4', '--epochs', '1', '--out', q, ...common],
    ['search', '--from', fp, '--budgets', '0.8', '--epochs', '1', '--out', tmpDir(), '--data-dir', data, '--batch-size', '32'],
    ['pack', '--model', q, '--out', path.join(q, 'm.lowbit')],
    ['run', '--model', path.join(q, 'm.lowbit'), '--data-dir', data, '--compare', '--json'],
    ['export', '--model', path.join(q, 'm.lowbit'), '--format', 'onnx', '--out', path.join(q, 'm.onnx')],
    ['export', '--model', q, '--format', 'tfjs', '--out', path.join(q, 'tfjs')],
  ];
  for (const args of steps) {
    const s = lowbit(args);
    assert.equal(s.status, 0, `${args[0]}: ${s.stderr}`);
    if (args[0] === 'run') {
      const run = JSON.parse(s.stdout) as { vsSimulation: { top1Agreement: number } };
      assert.equal(run.vsSimulation.top1Agreement, 1, 'the integer runtime agrees with the training simulation');
    }
  }
  assert.ok(existsSync(path.join(q, 'm.onnx')) && existsSync(path.join(q, 'tfjs', 'model.json')));
});

test('a model for other images, a damaged file, a non-ONNX file and an occupied run stop with one line and no output', () => {
  const out = path.join(tmpDir(), 'run');
  oneLineError(
    lowbit(importArgs(path.join(fixtures, 'plain-op13.onnx'), out)),
    /plain-op13\.onnx takes 16×16×3 images \(height × width × channels\); fashion-mnist has 28×28×1/,
  );
  assert.ok(!existsSync(out));
  const damaged = path.join(tmpDir(), 'damaged.onnx');
  writeFileSync(damaged, readFileSync(lenet).subarray(0, 5000));
  oneLineError(lowbit(importArgs(damaged, out)), /damaged\.onnx is not an ONNX model/);
  assert.ok(!existsSync(out));
  oneLineError(lowbit(importArgs(path.join(repoRoot, 'LICENSE'), out)), /LICENSE: expected an \.onnx file or a tfjs model\.json/);
  oneLineError(lowbit(importArgs(path.join(repoRoot, 'package.json'), out)), /package\.json is not a tfjs layers model/);
  const fp = tmpDir();
  assert.equal(lowbit(importArgs(lenet, fp)).status, 0);
  oneLineError(lowbit(importArgs(lenet, fp)), /already holds a run .*--force to replace it/);
  assert.equal(lowbit(importArgs(lenet, fp, '--force')).status, 0);
});

/** A Keras-style model for 28×28 grey images, written as tensorflowjs_converter would: model.json and weights.bin. */
async function writeTfjsModel(dir: string, weightsPath = 'weights.bin'): Promise<string> {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({}),
      tf.layers.activation({ activation: 'relu6' }),
      tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dropout({ rate: 0.2 }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  let art: tf.io.ModelArtifacts | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const file = path.join(dir, 'model.json');
  writeFileSync(
    file,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: art!.modelTopology,
      weightsManifest: [{ paths: [weightsPath], weights: art!.weightSpecs }],
    }),
  );
  writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(art!.weightData as ArrayBuffer));
  return file;
}

test('a Keras-style tfjs model imports and goes through quantize, pack and run; weight paths outside its folder are refused', async () => {
  const file = await writeTfjsModel(tmpDir());
  const fp = tmpDir();
  const r = lowbit(importArgs(file, fp, '--json'));
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { source: { format: string }; notes: string[] };
  assert.equal(res.source.format, 'tfjs');
  assert.ok(res.notes.some((n) => /softmax/.test(n)));
  const q = tmpDir();
  for (const args of [
    ['quantize', '--from', fp, '--method', 'ptq', '--wbits', '4', '--abits', '4', '--out', q, '--data-dir', data, '--quiet'],
    ['pack', '--model', q, '--out', path.join(q, 'm.lowbit')],
    ['run', '--model', path.join(q, 'm.lowbit'), '--data-dir', data],
  ]) {
    const s = lowbit(args);
    assert.equal(s.status, 0, `${args[0]}: ${s.stderr}`);
  }
  const hostile = await writeTfjsModel(tmpDir(), '../../etc/passwd');
  const out = path.join(tmpDir(), 'run');
  oneLineError(lowbit(importArgs(hostile, out)), /weight file "\.\.\/\.\.\/etc\/passwd" is not a path beside the model\.json/);
  assert.ok(!existsSync(out));
  oneLineError(lowbit(importArgs(file, out, '--fold-bn')), /--fold-bn applies to ONNX files/);
});

test('lowbit train --model <file.onnx> fine-tunes the imported model; a model that is neither a zoo name nor a file is refused', () => {
  const out = tmpDir();
  const r = lowbit([
    'train',
    '--model',
    lenet,
    '--data',
    'fashion-mnist',
    '--data-dir',
    data,
    '--epochs',
    '1',
    '--batch-size',
    '32',
    '--lr',
    '0.01',
    '--out',
    out,
    '--quiet',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const ck = lowbit(['checkpoint', 'info', path.join(out, 'checkpoint.lbck'), '--json']);
  assert.equal(ck.status, 0, ck.stderr);
  assert.match(ck.stdout, /"imported":\{"file":"lenet-op13\.onnx","sha256":"[0-9a-f]{64}","format":"onnx"\}/);
  oneLineError(
    lowbit(['train', '--model', 'alexnet', '--data', 'fashion-mnist', '--out', tmpDir()]),
    /expected one of lenet5, vgg9, resnet20, mobilenet, or an \.onnx \/ model\.json file/,
  );
  oneLineError(
    lowbit([
      'train',
      '--model',
      path.join(fixtures, 'plain-op13.onnx'),
      '--data',
      'fashion-mnist',
      '--data-dir',
      data,
      '--epochs',
      '1',
      '--out',
      tmpDir(),
    ]),
    /plain-op13\.onnx takes 16×16×3 images/,
  );
});
