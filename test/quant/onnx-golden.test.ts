// Golden values for the `int` format from onnxruntime-node: a QuantizeLinear -> DequantizeLinear
// model is built and run by ORT on ties (x/s = k + 1/2, both signs), saturation and random values;
// lowbit's codes and values must equal ORT's exactly (round half to even, saturation, zero point).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ort } from '../helpers/ort.js';
import { AttrType, OnnxType, encodeModel, floatTensor, int8Tensor, valueInfo } from '../../src/deploy/onnx/proto.js';
import { formatOf, parseFormatSpec } from '../../src/quant/registry.js';
import { makeRng } from '../../src/data/rng.js';

async function ortQdq(x: Float32Array, shape: number[], scale: number[], zp: number[], unsigned: boolean, axis: number | null) {
  const sdims = scale.length === 1 ? [] : [scale.length];
  const model = encodeModel({
    name: 'qdq',
    nodes: [
      {
        opType: 'QuantizeLinear',
        input: ['x', 's', 'z'],
        output: ['q'],
        attribute: axis === null ? [] : [{ name: 'axis', i: axis, type: AttrType.INT }],
      },
      {
        opType: 'DequantizeLinear',
        input: ['q', 's', 'z'],
        output: ['y'],
        attribute: axis === null ? [] : [{ name: 'axis', i: axis, type: AttrType.INT }],
      },
    ],
    initializers: [floatTensor('s', sdims, scale), int8Tensor('z', sdims, zp, unsigned)],
    inputs: [valueInfo('x', OnnxType.FLOAT, shape)],
    outputs: [valueInfo('q', unsigned ? OnnxType.UINT8 : OnnxType.INT8, shape), valueInfo('y', OnnxType.FLOAT, shape)],
  });
  const session = await ort!.InferenceSession.create(model);
  const out = await session.run({ x: new ort!.Tensor('float32', x, shape) });
  return { q: Array.from(out.q.data as Uint8Array | Int8Array), y: Float32Array.from(out.y.data as Float32Array) };
}

/** Ties, saturation and random values on the grid of (scale, zp). */
function probe(scale: number, zp: number, n: number, seed: number): number[] {
  const r = makeRng(seed);
  const out: number[] = [];
  for (let k = -140; k <= 140; k += 7) out.push((k + 0.5) * scale - zp * scale, (k - 0.5) * scale - zp * scale);
  out.push(1e6, -1e6, 0, -0);
  while (out.length < n) out.push((r.next() - 0.5) * 300 * scale);
  return out.slice(0, n);
}

for (const unsigned of [true, false]) {
  test(
    `int ${unsigned ? 'uint8' : 'int8'} with zero point equals ONNX Q/DQ in onnxruntime, per tensor and per axis`,
    { skip: !ort },
    async () => {
      const spec = parseFormatSpec({ format: 'int', bits: 8, signed: !unsigned, symmetric: false, granularity: 'channel' });
      const def = formatOf(spec);
      // Per tensor.
      const s1 = 0.0375,
        z1 = unsigned ? 37 : -9;
      const x1 = Float32Array.from(probe(s1, z1, 120, 1));
      const o1 = await ortQdq(x1, [x1.length], [s1], [z1], unsigned, null);
      const p1 = { scale: [Math.fround(s1)], zeroPoint: [z1] };
      const c1 = def.encode(x1, [x1.length], spec, p1);
      assert.deepEqual(Array.from(c1), o1.q, 'codes');
      assert.deepEqual(Array.from(def.decode(c1, [x1.length], spec, p1)), Array.from(o1.y), 'values');
      // Per axis (the last, as lowbit's per-channel scales).
      const scales = [0.5, 0.0125, 3].map(Math.fround),
        zps = unsigned ? [0, 128, 255] : [-128, 0, 5];
      const rows = 40;
      const x2 = new Float32Array(rows * 3);
      for (let c = 0; c < 3; c++) probe(scales[c], zps[c], rows, 2 + c).forEach((v, r) => (x2[r * 3 + c] = v));
      const o2 = await ortQdq(x2, [rows, 3], scales, zps, unsigned, 1);
      const p2 = { scale: scales, zeroPoint: zps };
      const c2 = def.encode(x2, [rows, 3], spec, p2);
      assert.deepEqual(Array.from(c2), o2.q, 'per-axis codes');
      assert.deepEqual(Array.from(def.decode(c2, [rows, 3], spec, p2)), Array.from(o2.y), 'per-axis values');
    },
  );
}

test('signed symmetric int keeps the narrow range [-127, 127]; ONNX int8 would also use -128', { skip: !ort }, async () => {
  const spec = parseFormatSpec({ format: 'int', bits: 8 });
  const x = Float32Array.from([-200, -127.5, -127.4, 0.5, 1.5, 127.5]);
  const o = await ortQdq(x, [6], [1], [0], false, null);
  assert.deepEqual(o.q, [-128, -128, -127, 0, 2, 127]);
  assert.deepEqual(Array.from(formatOf(spec).encode(x, [6], spec, { scale: [1], zeroPoint: [0] })), [-127, -127, -127, 0, 2, 127]);
});
