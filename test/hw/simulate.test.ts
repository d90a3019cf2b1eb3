// simulate() on quantized models of every weight format: operand widths come from each format's
// hardware descriptor, MPQ flags add brick passes, and the ratios against the baselines are sane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/tf.js';
import { quantizeModel } from '../../src/nn/quantize-model.js';
import { simulate } from '../../src/hw/simulate.js';
import { formatOf } from '../../src/quant/registry.js';
import { modelQuantizers } from '../../src/nn/quantizers.js';
import { engine } from '../helpers/compare.js';
import { fitQuantizers, formatCases, tinyModel } from '../helpers/tiny-model.js';

await engine();

test('every weight format simulates with the widths its hardware descriptor declares', async () => {
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 3);
  for (const [label, config] of formatCases) {
    const { model } = await quantizeModel(tinyModel(), { ...config, keepEndsAt8Bits: false });
    fitQuantizers(model, x);
    const r = simulate(model, 'bitfusion', { batch: 2 });
    const qs = modelQuantizers(model);
    r.layers.forEach((l, i) => {
      const wq = qs[i].weight!;
      const hw = formatOf(wq.spec).hardware(wq.spec as never);
      // Rounded up to Bit Fusion's precisions (2, 4, 8, 16).
      const want = [2, 4, 8, 16].find((p) => p >= hw.multiplierBits)!;
      assert.equal(l.weightBits, want, `${label} ${l.name}`);
      assert.ok(l.energyPj.total > 0 && l.cycles > 0);
      if (hw.decoder !== 'none') assert.ok(l.energyPj.decoder > 0, `${label}: decoder energy`);
      if (hw.extraPassForFlagged)
        assert.ok(l.bricksPerMac > Math.ceil(l.weightBits / 2) * Math.ceil(l.inputBits / 2), `${label}: flags cost bricks`);
    });
    assert.equal(r.batch, 2);
    assert.ok(r.speedupVsFp32 > 1 && r.energyRatioVsFp32 > 1, `${label}: ${r.speedupVsFp32}, ${r.energyRatioVsFp32}`);
    assert.ok(r.baselines.int8.layers.every((l) => l.weightBits === 8 && l.inputBits === 8));
  }
});

test('product-coded layers are fetched at their packed size and pay a codebook lookup per weight fetch', () => {
  const model = tinyModel();
  const plain = simulate(model, 'bitfusion');
  // fc1: 160 subvectors of 4 with 16 centroids: 4-bit indices + a 16 × 4 fp16 codebook = 2.6 bits per weight.
  const code = { m: 1, d: 4, centroids: new Float32Array(16 * 4), assign: new Uint32Array(160) };
  const coded = simulate(model, 'bitfusion', { stored: new Map([['fc1', { codec: 'product', code } as const]]) });
  const [p, c] = [plain.layers[1], coded.layers[1]];
  // Arithmetic on the decoded fp16 weights is unchanged; the traffic of the weights shrinks.
  assert.equal(c.weightBits, p.weightBits);
  assert.equal(c.macs, p.macs);
  assert.ok(c.dramBytes.weights < p.dramBytes.weights / 5, `${c.dramBytes.weights} vs ${p.dramBytes.weights}`);
  assert.equal(p.energyPj.decoder, 0);
  assert.ok(c.energyPj.decoder > 0);
  assert.equal(coded.layers[0].energyPj.total, plain.layers[0].energyPj.total, 'uncoded layers cost the same');
  const fc1Weights = 4 * 4 * 4 * 10;
  assert.ok(Math.abs(plain.totals.weightBytes - coded.totals.weightBytes - (fc1Weights * (16 - 2.6)) / 8) < 1e-6);
});

test('a layer cannot be both in a weight format and a product code', async () => {
  const { model } = await quantizeModel(tinyModel(), { ...formatCases[0][1], keepEndsAt8Bits: false });
  assert.throws(
    () =>
      simulate(model, 'bitfusion', {
        stored: new Map([
          ['conv1', { codec: 'product', code: { m: 1, d: 9, centroids: new Float32Array(9), assign: new Uint32Array(4) } } as const],
        ]),
      }),
    /layer conv1 has both a weight format and a stored code/,
  );
});
