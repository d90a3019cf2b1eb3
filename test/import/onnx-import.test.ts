// ONNX import against PyTorch: the fixtures in test/fixtures/onnx were exported by torch.onnx.export
// (scripts/make-onnx-fixtures.py, with PyTorch's logits on fixed inputs beside them); each imported
// model must give those logits to 1e-4 of their largest magnitude, at opsets 11, 13, 15 and 17 as
// exported, and at 18 and 21 as rewritten here (ReduceMean's axes become an input at 18). Damaged
// and unsupported files get one line naming the node, the op and what lowbit imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tf } from '../../src/engine/tf.js';
import { importOnnx, type ImportOptions } from '../../src/import/onnx.js';
import { ModelProto } from '../../src/deploy/onnx/proto.js';
import { engine } from '../helpers/compare.js';
import { runEveryConsumer } from '../helpers/op-harness.js';
import { repoRoot } from '../helpers/cli.js';

await engine();
const dir = path.join(repoRoot, 'test', 'fixtures', 'onnx');
const files = readdirSync(dir).filter((f) => f.endsWith('.onnx'));

interface Meta {
  inputShape: [number, number, number];
  batch: number;
  input: string;
  logits: string;
}
const floats = (b64: string) => new Float32Array(Uint8Array.from(Buffer.from(b64, 'base64')).buffer);
const metaOf = (file: string) => JSON.parse(readFileSync(path.join(dir, `${file.split('-')[0]}.json`), 'utf8')) as Meta;

/** The largest logit difference over the largest logit magnitude, on the fixture's inputs. */
function relativeError(bytes: Uint8Array, meta: Meta, o: ImportOptions = {}): { error: number; classes: string[] } {
  const r = importOnnx(bytes, o);
  const [c, h, w] = meta.inputShape;
  const x = tf.tidy(() => tf.tensor(floats(meta.input), [meta.batch, c, h, w]).transpose([0, 2, 3, 1]));
  const y = tf.tidy(() => (r.model.predict(x) as tf.Tensor).dataSync());
  x.dispose();
  const want = floats(meta.logits);
  assert.equal(y.length, want.length);
  let err = 0,
    max = 0;
  for (let i = 0; i < y.length; i++) ((err = Math.max(err, Math.abs(y[i] - want[i]))), (max = Math.max(max, Math.abs(want[i]))));
  return { error: err / max, classes: r.model.layers.map((l) => l.getClassName()) };
}

test('every fixture imports with PyTorch logits to 1e-4, with and without batch norms folded', () => {
  assert.ok(files.length >= 15, `only ${files.length} fixtures`);
  for (const f of files)
    for (const foldBatchNorm of [false, true]) {
      const { error } = relativeError(readFileSync(path.join(dir, f)), metaOf(f), { foldBatchNorm });
      assert.ok(error <= 1e-4, `${f} (fold ${foldBatchNorm}): relative error ${error}`);
    }
});

test('grouped convolutions come in as one conv with a block-diagonal kernel, and the notes say so', () => {
  const g = importOnnx(readFileSync(path.join(dir, 'grouped-op13.onnx')));
  assert.equal(g.notes.length, 2, g.notes.join('\n'));
  assert.match(g.notes[0], /has 2 groups: imported as one convolution with a block-diagonal kernel \(exact; 2× its MACs/);
  assert.match(g.notes[1], /has 4 groups/);
  // The 4→8 conv of 2 groups: outputs 0..3 read inputs 0..1 only, outputs 4..7 inputs 2..3 only.
  const conv = g.model.layers.filter((l) => l.getClassName() === 'Conv2D')[1];
  const k = conv.getWeights()[0];
  assert.deepEqual(k.shape, [3, 3, 4, 8]);
  const v = k.dataSync();
  for (let t = 0; t < 9; t++)
    for (let ci = 0; ci < 4; ci++)
      for (let o = 0; o < 8; o++) {
        const inGroup = Math.floor(ci / 2) === Math.floor(o / 4);
        if (!inGroup) assert.equal(v[(t * 4 + ci) * 8 + o], 0, `tap ${t}, input ${ci}, output ${o}`);
      }
  assert.equal(importOnnx(readFileSync(path.join(dir, 'plain-op13.onnx'))).notes.length, 0);
});

test('layers as lowbit builds them: depthwise, ReLU6, explicit zero padding, concat, folded batch norms and biases', () => {
  const mobile = importOnnx(readFileSync(path.join(dir, 'mobile-op13.onnx')));
  const classes = mobile.model.layers.map((l) => l.getClassName());
  assert.ok(classes.includes('DepthwiseConv2D') && classes.includes('ZeroPadding2D') && classes.includes('Add'), classes.join());
  const relu6 = mobile.model.layers.filter((l) => l.getClassName() === 'ReLU').map((l) => l.getConfig().maxValue);
  assert.ok(relu6.length === 4 && relu6.every((m) => m === 6), String(relu6));
  assert.deepEqual(mobile.inputShape, [16, 16, 3]);
  assert.equal(mobile.numClasses, 10);
  for (const [f, bn] of [
    ['mobile-bn.onnx', 5],
    ['plain-bn.onnx', 2],
    ['residual-bn.onnx', 3],
  ] as const) {
    const bytes = readFileSync(path.join(dir, f));
    assert.ok(
      importOnnx(bytes).model.layers.some((l) => l.getClassName() === 'LowbitBatchNorm'),
      f,
    );
    const folded = importOnnx(bytes, { foldBatchNorm: true });
    assert.equal(folded.folded.batchNorm, bn, f);
    assert.ok(!folded.model.layers.some((l) => l.getClassName() === 'LowbitBatchNorm'), f);
  }
  // x @ W + b: MatMul then a constant Add, folded into the dense layer's bias.
  const residual = importOnnx(readFileSync(path.join(dir, 'residual-op13.onnx')));
  assert.equal(residual.folded.bias, 1);
  assert.ok(residual.model.layers.some((l) => l.getClassName() === 'Concatenate'));
});

// The model as plain objects, to rewrite what an exporter or a hostile writer could have written.
type Obj = {
  opsetImport: { domain?: string; version: number }[];
  graph: {
    node: {
      opType: string;
      name: string;
      input: string[];
      output: string[];
      attribute: { name: string; type: number; ints?: number[]; i?: number; t?: { rawData: Uint8Array } }[];
    }[];
    initializer: { name: string; dims: number[]; dataType: number; rawData: Uint8Array; dataLocation?: number }[];
  };
};
const load = (f: string) => ModelProto.toObject(ModelProto.decode(readFileSync(path.join(dir, f))), { longs: Number }) as unknown as Obj;
const save = (m: Obj) => ModelProto.encode(ModelProto.fromObject(m)).finish();

test('opsets 18 and 21: ReduceMean reads its axes from an input', () => {
  for (const version of [18, 21]) {
    const m = load('mobile-op17.onnx');
    m.opsetImport = [{ domain: '', version }];
    const rm = m.graph.node.find((n) => n.opType === 'ReduceMean')!;
    const axes = rm.attribute.find((a) => a.name === 'axes')!;
    rm.attribute = rm.attribute.filter((a) => a !== axes);
    m.graph.initializer.push({ name: 'rm_axes', dims: [2], dataType: 7, rawData: new Uint8Array(BigInt64Array.of(2n, 3n).buffer) });
    rm.input.push('rm_axes');
    const { error } = relativeError(save(m), metaOf('mobile'));
    assert.ok(error <= 1e-4, `opset ${version}: ${error}`);
  }
});

test('damaged, hostile and unsupported files get one line naming what is wrong', () => {
  const expectError = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(
      () => importOnnx(bytes, { file: 'm.onnx' }),
      (e: Error) => re.test(e.message) && !e.message.includes('\n'),
    );
  const plain = readFileSync(path.join(dir, 'plain-op13.onnx'));
  expectError(plain.subarray(0, plain.length >> 1), /^m\.onnx is not an ONNX model/);
  expectError(
    Uint8Array.from({ length: 500 }, (_, i) => (i * 37) & 255),
    /^m\.onnx is not an ONNX model/,
  );
  const cases: [(m: Obj) => void, RegExp][] = [
    [
      (m) => (m.graph.node.find((n) => n.opType === 'Relu')!.opType = 'LeakyRelu'),
      /node '.*' \(LeakyRelu\) is not supported; lowbit imports .*Conv/,
    ],
    [(m) => (m.opsetImport = [{ domain: '', version: 10 }]), /uses opset 10; lowbit imports opsets 11–21/],
    // Valid protobuf over wrong content: a weight whose bytes do not fill its shape.
    [
      (m) => (m.graph.initializer[0].dims = [m.graph.initializer[0].dims[0] + 1, ...m.graph.initializer[0].dims.slice(1)]),
      /initializer '.*': \d+ bytes of float data for \d+ values/,
    ],
    [(m) => (m.graph.initializer[0].dataLocation = 1), /keeps its data in an external file/],
    // A shape of 2^40 values over a few bytes: refused by its length, never allocated.
    [(m) => (m.graph.initializer[0].dims = [2 ** 20, 2 ** 20]), /initializer '.*': \d+ bytes of float data for 1099511627776 values/],
    [
      (m) => m.graph.node.find((n) => n.opType === 'Conv')!.attribute.push({ name: 'group', type: 2, i: 3 }),
      /\(Conv\) has 3 groups, a weight for 3 input channels per group and \d+ outputs; its input has 3 channels/,
    ],
  ];
  for (const [edit, re] of cases) {
    const m = load('plain-op13.onnx');
    edit(m);
    expectError(save(m), re);
  }
  // Clip to other bounds than ReLU6's.
  const mobile = load('mobile-op13.onnx');
  const clip = mobile.graph.node.find((n) => n.opType === 'Clip')!;
  const hi = mobile.graph.node.find((n) => n.opType === 'Constant' && n.output[0] === clip.input[2]);
  assert.ok(hi?.attribute[0].t, 'the Clip bound constant');
  hi.attribute[0].t.rawData = new Uint8Array(Float32Array.of(4).buffer);
  expectError(save(mobile), /\(Clip\) clips to \[0, 4\]; lowbit imports Clip\(0, 6\)/);
});

test("imported models pack, run in the integer runtime and export to ONNX and tfjs with PyTorch's logits", async () => {
  for (const f of files.filter((x) => x.endsWith('-op13.onnx'))) {
    const meta = metaOf(f);
    const { model } = importOnnx(readFileSync(path.join(dir, f)), { foldBatchNorm: true });
    const [c, h, w] = meta.inputShape;
    const x = tf.tidy(() => tf.tensor(floats(meta.input), [meta.batch, c, h, w]).transpose([0, 2, 3, 1]));
    const r = await runEveryConsumer(model, x);
    x.dispose();
    assert.ok(r.runtime <= 1e-5 && (r.onnx ?? 0) <= 1e-5 && r.tfjs <= 1e-6, `${f}: runtime ${r.runtime}, ONNX ${r.onnx}, tfjs ${r.tfjs}`);
  }
});
