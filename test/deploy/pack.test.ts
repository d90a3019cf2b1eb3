// The packed format: CRC-32 and bit packing against references, the MPQ flag index round trip,
// and pack → read → rebuild giving the packed model's exact predictions for every weight format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { tf } from '../../src/engine/tf.js';
import { crc32 } from '../../src/deploy/crc32.js';
import { packBits, packedBytes, unpackBits } from '../../src/deploy/bitpack.js';
import { decodeFlags, encodeFlags } from '../../src/deploy/rice.js';
import { packModel } from '../../src/deploy/pack.js';
import { readPacked } from '../../src/deploy/read.js';
import { toLayersModel } from '../../src/deploy/to-layers.js';
import { loadLowbit } from '../../src/deploy/runtime/model.js';
import { mpqFlagIndex } from '../../src/quant/mpq.js';
import { quantizeModel, type QuantizeConfig } from '../../src/nn/quantize-model.js';
import { modelQuantizers } from '../../src/nn/quantizers.js';
import { engine } from '../helpers/compare.js';
import { setNativeKernels } from '../../src/engine/override.js';
import { tinyModel, formatCases as cases, fitQuantizers } from '../helpers/tiny-model.js';

await engine();

test('CRC-32: the standard check value and zlib on random bytes', () => {
  // "123456789" → 0xCBF43926 is the check value of CRC-32/ISO-HDLC (the zlib/PNG CRC).
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => crc32(b) === zlibCrc32(b)));
});

test('bit packing round-trips every width from 1 to 16 bits, LSB first', () => {
  // Two 3-bit values 5 (101) and 3 (011), LSB first: bits 1,0,1,1,1,0 → byte 0b00011101.
  assert.deepEqual(Array.from(packBits([5, 3], 3)), [0b00011101]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 16 }), fc.array(fc.nat(), { maxLength: 300 }), (bits, raw) => {
      const vals = raw.map((v) => v % 2 ** bits);
      const packed = packBits(vals, bits);
      assert.equal(packed.length, packedBytes(vals.length, bits));
      assert.deepEqual(Array.from(unpackBits(packed, vals.length, bits)), vals);
    }),
  );
  assert.throws(() => packBits([4], 2), /value 4 at 0 does not fit 2 bits/);
});

test('MPQ flag index: decode(encode) is the identity and the size is what mpqFlagIndex counts', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(), (n, p, seed) => {
      let s = seed;
      const flags = Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 < p ? 1 : 0));
      const e = encodeFlags(flags);
      const ix = mpqFlagIndex(flags);
      assert.equal(e.index, ix.kind);
      // The index bits of mpqFlagIndex include the 37-bit header the manifest carries.
      assert.equal(e.bytes.length, Math.ceil((ix.kind === 'rice' ? ix.bits - 37 : ix.bits) / 8));
      assert.deepEqual(decodeFlags(e.bytes, n, e.index, e.k, e.flagged, 'test'), flags);
    }),
    { numRuns: 200 },
  );
});

test('pack → read → rebuild predicts exactly what the quantized model predicts, and so does the integer runtime, for every weight format', async () => {
  const x = tf.randomNormal([8, 8, 8, 1], 0, 1, 'float32', 7);
  for (const [label, config] of cases) {
    const { model } = await quantizeModel(tinyModel(), { ...config, keepEndsAt8Bits: false });
    // One training-mode pass fits every quantizer (and initialises LSQ steps and PACT clips).
    tf.tidy(() => void model.apply(x, { training: true }));
    for (const q of modelQuantizers(model))
      if (q.weight?.spec.format === 'mpq')
        q.weight.flags = Uint8Array.from({ length: q.layer.weights[0].shape.reduce((a: number, b) => a * (b ?? 1), 1) }, (_, i) =>
          i % 5 === 0 ? 1 : 0,
        );
    const { bytes, report } = packModel(model);
    assert.ok(report.bytes <= 1.02 * (report.tensorBytes + report.manifestBytes) + 64, `${label}: container overhead`);
    const rebuilt = await toLayersModel(readPacked(bytes));
    const a = (model.predict(x) as tf.Tensor).dataSync(),
      b = (rebuilt.predict(x) as tf.Tensor).dataSync();
    assert.deepEqual(Array.from(b), Array.from(a), label);
    // The integer runtime on the same inputs: integer MACs and fixed-point requantization agree
    // with the float simulation up to rare rounding at decision thresholds.
    const input = Float32Array.from(x.dataSync() as Float32Array);
    const rt = loadLowbit(bytes).predict(input, 8);
    // The native kernels (AVX2 GEMM, int128 requantization) and the TypeScript path agree bit for
    // bit on integer layers; layers with float inputs run on oneDNN's float convolution natively
    // and on a float64-accumulating loop in TypeScript, equal up to float32 rounding.
    const old = setNativeKernels(false);
    let portable: Float32Array;
    try {
      portable = loadLowbit(bytes).predict(input, 8);
    } finally {
      setNativeKernels(old);
    }
    const floatLayers = config.activation === null;
    if (floatLayers) {
      const s = Math.max(...Array.from(rt, Math.abs));
      rt.forEach((v, i) =>
        assert.ok(Math.abs(v - portable[i]) <= 1e-5 * s, `${label}: native and portable runtimes at ${i}: ${v} vs ${portable[i]}`),
      );
    } else assert.deepEqual(Array.from(portable), Array.from(rt), `${label}: native and portable runtimes`);
    const scale = Math.max(...Array.from(a, Math.abs));
    const worst = Math.max(...Array.from(rt, (v, i) => Math.abs(v - a[i])));
    // Exact for most formats (≈1e-7 relative); po2's wide products make the float32 simulation
    // round one activation across a threshold here, a one-code (≈2%) difference in a logit.
    assert.ok(worst <= 0.05 * scale, `${label}: runtime logits differ by ${worst} (scale ${scale})`);
  }
});

test("a user's Sequential model (input shape on its first layer, ReLU inside the conv) quantizes, packs and runs", async () => {
  // tfjs keeps such a model's input layer hidden; quantizeModel must keep the input shape and the
  // packed graph must name the input explicitly.
  const user = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  const { model } = await quantizeModel(user, {
    weight: { format: 'int', bits: 4, granularity: 'channel' },
    activation: { format: 'int', bits: 4, signed: false },
    keepEndsAt8Bits: false,
  });
  const x = tf.randomNormal([6, 8, 8, 1], 0, 1, 'float32', 11);
  tf.tidy(() => void model.apply(x, { training: true }));
  const { bytes, manifest } = packModel(model);
  assert.equal(manifest.layers[0].className, 'InputLayer');
  const want = (model.predict(x) as tf.Tensor).dataSync();
  const got = loadLowbit(bytes).predict(Float32Array.from(x.dataSync() as Float32Array), 6);
  const scale = Math.max(...Array.from(want, Math.abs));
  assert.ok(
    Array.from(got).every((v, i) => Math.abs(v - want[i]) <= 1e-4 * scale),
    'runtime logits equal the quantized model',
  );
  const rebuilt = await toLayersModel(readPacked(bytes));
  assert.deepEqual(Array.from((rebuilt.predict(x) as tf.Tensor).dataSync()), Array.from(want));
});
