// A layer kind is one file plus one registry line (issue 20's target): a toy layer op registered
// at test time (a per-channel scale with a learned weight) is packed, checked, run by the integer
// runtime, exported to ONNX and tfjs through the CLI, and costed by the accelerator model, with
// nothing else in the toolkit naming it. Before it is registered, and after it is removed, every
// consumer refuses it with one clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { packModel } from '../../src/deploy/pack.js';
import { readPacked } from '../../src/deploy/read.js';
import { PackedFormatError } from '../../src/deploy/container.js';
import { registerOp, unregisterOp } from '../../src/deploy/layers/registry.js';
import type { LayerOp } from '../../src/deploy/layers/layer-op.js';
import { floatWeight } from '../../src/deploy/layers/tfjs-quant.js';
import { asFloat } from '../../src/deploy/runtime/convert.js';
import { floatTensor } from '../../src/deploy/onnx/tensors.js';
import { describeModel } from '../../src/hw/from-model.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { engine } from '../helpers/compare.js';
import { tmpDir, writeIdxDataset } from '../helpers/fixtures.js';
import { fitQuantizers } from '../helpers/tiny-model.js';
import { runEveryConsumer } from '../helpers/op-harness.js';
import { cliInProcess as cli } from '../helpers/cli-in-process.js';

await engine();

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

/** The toy's tfjs layer: y = x · scale per channel. */
class ToyScale extends tf.layers.Layer {
  static className = 'ToyScale';
  private scale!: LayerVariable;
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as tf.Shape;
    this.scale = this.addWeight(
      'scale',
      [s[s.length - 1]!],
      'float32',
      tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 9 }),
    );
    this.built = true;
  }
  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, this.scale.read()));
  }
  override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return s;
  }
}
tf.serialization.registerClass(ToyScale);

/** The toy's layer op: all a layer kind declares. */
const toyOp: LayerOp = {
  className: 'ToyScale',
  inputs: 'one',
  tensors: { need: ['scale'], may: [] },
  weightRoles: () => ['scale'],
  check(l, ctx) {
    const C = ctx.floats.get(l.tensors.scale)!.length;
    if (ctx.inputs[0][ctx.inputs[0].length - 1] !== C)
      throw new PackedFormatError(`layer ${l.name}: ${C} scales for [${ctx.inputs[0].join(', ')}]`);
    return { out: ctx.inputs[0], relu: false };
  },
  lower(l, ctx) {
    const s = ctx.float(l, 'scale');
    return (vals) => {
      const x = asFloat(vals.get(l.inbound[0])!);
      vals.set(l.name, { kind: 'f', data: x.data.map((v, i) => v * s[i % s.length]), shape: x.shape });
    };
  },
  toOnnx(l, _c, ctx) {
    const src = ctx.input(l);
    const s = ctx.packed.floats.get(l.tensors.scale)!;
    // Channels first in the NCHW graph: the scale broadcasts as [C, 1, 1].
    ctx.initializers.push(floatTensor(`${l.name}_scale`, src.layout === 'nchw' ? [s.length, 1, 1] : [s.length], s));
    const y = ctx.fresh(l.name);
    ctx.nodes.push({ opType: 'Mul', input: [src.name, `${l.name}_scale`], output: [y] });
    ctx.output(l, y, src.layout);
  },
  tfjs: { weights: (l, p) => [floatWeight(l, p, 'scale')] },
};

function toyModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.inputLayer({ inputShape: [28, 28, 1], name: 'input' }));
  m.add(
    tf.layers.conv2d({
      name: 'conv',
      filters: 4,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  m.add(new ToyScale({ name: 'toy' }));
  m.add(tf.layers.maxPooling2d({ name: 'pool', poolSize: 2 }));
  m.add(tf.layers.flatten({ name: 'flat' }));
  m.add(tf.layers.dense({ name: 'fc', units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

test('a layer op registered at run time goes through pack, run, both exports (CLI too) and the accelerator model', async () => {
  const x = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 3);
  const { model } = await quantizeModel(toyModel(), {
    weight: { format: 'int', bits: 4 },
    activation: { format: 'int', bits: 4, signed: false },
    keepEndsAt8Bits: false,
  });
  fitQuantizers(model, x);
  assert.throws(() => packModel(model), /layer toy is a ToyScale, which the packed format does not support \(supported: InputLayer, /);
  registerOp(toyOp);
  let bytes: Uint8Array;
  try {
    assert.throws(() => registerOp(toyOp), /layer op ToyScale is already registered/);
    const r = await runEveryConsumer(model, x);
    assert.ok(r.classes.includes('ToyScale'));
    assert.ok(r.runtime <= 0.05, `runtime differs by ${r.runtime}`);
    if (r.onnx !== null) assert.ok(r.onnx <= 1e-4, `ONNX differs by ${r.onnx}`);
    assert.ok(r.tfjs <= 1e-6, `tfjs export differs by ${r.tfjs}`);
    // The accelerator costs the conv and the dense layer; the toy declares no cost, so it is free.
    assert.deepEqual(
      describeModel(model).map((l) => l.shape.name),
      ['conv', 'fc'],
    );
    // Through the CLI, like a zoo model's file.
    const data = tmpDir(),
      out = tmpDir();
    writeIdxDataset(data, 16, 64);
    bytes = packModel(model, { dataset: 'mnist' }).bytes;
    const file = path.join(out, 'toy.lowbit');
    writeFileSync(file, bytes);
    const run = await cli(['run', '--model', file, '--data-dir', data, '--compare']);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /accuracy \d+\.\d+% over 64 images/);
    for (const args of [
      ['--out', path.join(out, 'toy.onnx')],
      ['--format', 'tfjs', '--out', path.join(out, 'tfjs')],
    ]) {
      const e = await cli(['export', '--model', file, ...args]);
      assert.equal(e.code, 0, e.err);
    }
  } finally {
    unregisterOp('ToyScale');
  }
  // A file holding a layer kind this build does not know is refused, not half-run.
  assert.throws(() => readPacked(bytes), /layer toy: layer class ToyScale is not supported \(supported: InputLayer, /);
  assert.throws(() => unregisterOp('Flatten'), /layer op Flatten is built in/);
});
