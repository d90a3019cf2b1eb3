// Golden tables: expected values with the source each comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFormatSpec, formatOf } from '../../src/quant/registry.js';
import { esbLambda, esbMagnitudes } from '../../src/quant/esb.js';
import { dybitMagnitudes } from '../../src/quant/dybit.js';
import { mpqBitsPerWeight, mpqFlagIndex } from '../../src/quant/mpq.js';
import { roundHalfEven, sampleValues } from '../../src/quant/numeric.js';

function run(specInput: unknown, x: number[], shape: number[], params?: unknown) {
  const spec = parseFormatSpec(specInput);
  const def = formatOf(spec);
  const xs = Float32Array.from(x);
  const p = params ?? def.fit(xs, shape, spec);
  const codes = def.encode(xs, shape, spec, p);
  return {
    params: p as Record<string, number[] | number>,
    codes: Array.from(codes),
    values: Array.from(def.decode(codes, shape, spec, p)),
  };
}

test('ESB b=4, k=1 magnitudes are {0, .5, 1, 1.5, 2, 3, 4, 6}·α (SPEC.md §2, Gong et al.)', () => {
  assert.deepEqual(Array.from(esbMagnitudes(4, 1)), [0, 0.5, 1, 1.5, 2, 3, 4, 6]);
  // Mid-rise case (e < 2): b=3, k=1 -> (i + 1/2), i < 4.
  assert.deepEqual(Array.from(esbMagnitudes(3, 1)), [0.5, 1.5, 2.5, 3.5]);
  const r = run({ format: 'esb', bits: 4, k: 1 }, [0.2, 0.3, -0.74, 1.26, 2.4, 2.6, 3.49, 5.1, 100, -100], [10], { alpha: [1] });
  // 0.2 -> 0, 0.3 -> .5, -0.74 -> -.5 (0.74/0.5 = 1.48 -> 1), 1.26 -> 1.5 (2.52 -> 3 halves), 2.4 -> 2 (region 1, step 1),
  // 2.6 -> 3, 3.49 -> 3, 5.1 -> 6 (region 2, step 2: 2.55 -> 3 steps), ±100 -> ±6 (clipped)
  assert.deepEqual(r.values, [0, 0.5, -0.5, 1.5, 2, 3, 3, 6, 6, -6]);
});

test('ESB λ(b,k) minimizes the squared error of a standard normal (checked against a direct scan)', () => {
  const lambda = esbLambda(4, 1);
  const mags = esbMagnitudes(4, 1);
  const err = (a: number) => {
    let s = 0;
    for (let x = -6; x <= 6; x += 0.002) {
      let best = Infinity;
      for (const m of mags) best = Math.min(best, Math.abs(Math.abs(x) - a * m));
      s += best * best * Math.exp((-x * x) / 2);
    }
    return s;
  };
  assert.ok(err(lambda) <= err(lambda * 1.05) && err(lambda) <= err(lambda / 1.05), `lambda ${lambda}`);
  assert.ok(lambda > 0.2 && lambda < 1.5);
});

test('DyBit n=3 level sets for kmax 0..3 (derived by hand from SPEC.md §2)', () => {
  // kmax 0: plain uniform m/8. kmax 1: '0'+2 bits, '1'+2 bits -> 1 + m/4.
  // kmax 2: '0'+2, '10'+1 -> 1 + m/2, '11'+1 -> 2 + 2·m/2. kmax 3: '0'+2, '10'+1, '110' -> 2, '111' -> 4.
  assert.deepEqual(Array.from(dybitMagnitudes(3, 0)), [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]);
  assert.deepEqual(Array.from(dybitMagnitudes(3, 1)), [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
  assert.deepEqual(Array.from(dybitMagnitudes(3, 2)), [0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3]);
  assert.deepEqual(Array.from(dybitMagnitudes(3, 3)), [0, 0.25, 0.5, 0.75, 1, 1.5, 2, 4]);
  // Signed 4-bit (sign + n=3), kmax 3, scale 0.5: codes are ±field, negatives offset by one.
  const r = run({ format: 'dybit', bits: 4, kmax: 3 }, [0.3, -0.3, 1.9, -5, 0.01], [5], { scale: [0.5], kmax: [3] });
  assert.deepEqual(r.values, [0.25, -0.25, 2, -2, 0]);
  assert.deepEqual(r.codes, [2, -3, 7, -8, 0]);
});

test('BWN and TWN by hand', () => {
  // W is [rows=4, channels=2]; channel 0 = [0.5, -1.5, 0.25, -0.25], channel 1 = [2, 1, -1, 0].
  const W = [0.5, 2, -1.5, 1, 0.25, -1, -0.25, 0];
  const b = run({ format: 'binary' }, W, [4, 2]);
  // α0 = mean|.5, 1.5, .25, .25| = 0.625; α1 = mean|2, 1, 1, 0| = 1; sign(0) = +1.
  assert.deepEqual(b.params.scale, [0.625, 1]);
  assert.deepEqual(b.values, [0.625, 1, -0.625, 1, 0.625, -1, -0.625, 1]);
  assert.deepEqual(b.codes, [1, 1, 0, 1, 1, 0, 0, 1]);
  const t = run({ format: 'ternary' }, W, [4, 2]);
  // Δ = 0.7·mean|W| = 0.7·6.5/8 = 0.56875; kept: ch0 {.5? no, -1.5} -> α0 = 1.5; ch1 {2, 1, -1} -> α1 = 4/3.
  assert.ok(Math.abs((t.params.threshold as number) - 0.56875) < 1e-6);
  assert.ok(Math.abs((t.params.scale as number[])[0] - 1.5) < 1e-6 && Math.abs((t.params.scale as number[])[1] - 4 / 3) < 1e-6);
  assert.deepEqual(t.codes, [0, 1, -1, 1, 0, -1, 0, 0]);
});

test('int follows ONNX QuantizeLinear/DequantizeLinear: round half to even, saturation, zero point', () => {
  // QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point) (ONNX operator spec).
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven), [0, 2, 2, 0, -2, -2, 2, 3]);
  const u8 = run({ format: 'int', bits: 8, signed: false, symmetric: false }, [], [0], { scale: [0.5], zeroPoint: [10] });
  void u8;
  const spec = parseFormatSpec({ format: 'int', bits: 8, signed: false, symmetric: false });
  const def = formatOf(spec);
  const x = Float32Array.from([0, 0.25, 0.75, 1.25, -5, -6, 200, 1000]);
  const p = { scale: [0.5], zeroPoint: [10] };
  // x/s = 0, .5, 1.5, 2.5, -10, -12, 400, 2000 -> round -> 0, 0, 2, 2, -10, -12, 400, 2000 -> +10, saturate to [0, 255]
  assert.deepEqual(Array.from(def.encode(x, [8], spec, p)), [10, 10, 12, 12, 0, 0, 255, 255]);
  assert.deepEqual(Array.from(def.decode(Int32Array.from([10, 12, 0, 255]), [4], spec, p)), [0, 1, -5, 122.5]);
  // Signed symmetric uses the narrow range [-127, 127] (ONNX int8 allows -128; lowbit keeps the range symmetric).
  const s8 = parseFormatSpec({ format: 'int', bits: 8 });
  assert.deepEqual(Array.from(formatOf(s8).encode(Float32Array.from([-1000, 1000]), [2], s8, { scale: [1], zeroPoint: [0] })), [-127, 127]);
});

test('MPQ storage counts base bits, one extra bit per flagged weight and the cheaper flag index', () => {
  // 1000 weights at base 3 bits, flagged at 100, 300, 700: gaps 100, 199, 399. Rice k=7 (by hand):
  // (0+1+7) + (1+1+7) + (3+1+7) = 28 bits, k=8: 9 + 9 + 10 = 28 (the first minimum, k=7, is kept);
  // plus the 37-bit header = 65 bits, far below the 1000-bit bitmap.
  const f = new Uint8Array(1000);
  f[100] = f[300] = f[700] = 1;
  assert.deepEqual(mpqFlagIndex(f), { kind: 'rice', bits: 65, k: 7, flagged: 3 });
  assert.equal(mpqBitsPerWeight(3, f), 3 + (3 + 65) / 1000);
  // 16 weights, flags at 3, 4, 10: any Rice list costs more than the 16-bit bitmap.
  const g = new Uint8Array(16);
  g[3] = g[4] = g[10] = 1;
  assert.deepEqual(mpqFlagIndex(g), { kind: 'bitmap', bits: 16, k: 0, flagged: 3 });
  assert.equal(mpqBitsPerWeight(4, g), 4 + (3 + 16) / 16);
  // Nothing flagged: the header alone (37 bits) when cheaper than the bitmap.
  assert.equal(mpqBitsPerWeight(4, new Uint8Array(1000)), 4 + 37 / 1000);
});

test('calibration samples cover every channel of channel-last data (a strided sample would alias)', () => {
  // 16 channels, values encode the channel: a stride of 8 would only ever see channels 0 and 8.
  const C = 16,
    rows = 4096;
  const x = Float32Array.from({ length: rows * C }, (_, i) => i % C);
  const seen = new Set(sampleValues(x, 4096));
  assert.equal(seen.size, C);
  assert.deepEqual(Array.from(sampleValues(x, 8, 7)), Array.from(sampleValues(x, 8, 7)), 'deterministic for a seed');
});
