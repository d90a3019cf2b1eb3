// Conformance of every registered number format (fast-check properties): codes in range,
// outputs on the grid and inside the range, idempotence, monotonicity, nearest rounding where
// declared, and a spec that survives a JSON round trip. New formats are picked up from the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { formatNames, formatOf, parseFormatSpec, type FormatSpec } from '../../src/quant/registry.js';
import { specsByFormat } from '../helpers/format-specs.js';

test('every registered format has conformance specs', () => {
  for (const n of formatNames) assert.ok(specsByFormat[n]?.length, `no conformance specs for format '${n}'`);
});

const C = 3;
/** Tensors [rows, C] of floats with a spread of magnitudes (including exact zeros and ties). */
const tensors = fc
  .array(
    fc.oneof(
      fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }),
      fc.float({ min: Math.fround(-0.05), max: Math.fround(0.05), noNaN: true }),
      fc.constantFrom(0, 0.5, -0.5, 1.5, -2.5, 0.25),
    ),
    { minLength: C, maxLength: 60 * C },
  )
  .map((a) => Float32Array.from(a.slice(0, a.length - (a.length % C)), (v) => v + 0));

function roundTrip(spec: FormatSpec, x: Float32Array, flags?: Uint8Array) {
  const def = formatOf(spec);
  const shape = [x.length / C, C];
  let params = def.fit(x, shape, spec) as Record<string, unknown>;
  if (flags) params = { ...params, flags };
  const codes = def.encode(x, shape, spec, params);
  const q = def.decode(codes, shape, spec, params);
  return { def, shape, params, codes, q };
}

for (const name of formatNames) {
  for (const input of specsByFormat[name] ?? []) {
    const spec = parseFormatSpec(input);
    const label = JSON.stringify(input);
    test(`${label}: codes in range, values on the grid and inside it, idempotent, nearest where declared`, () => {
      fc.assert(
        fc.property(tensors, (x) => {
          const { def, shape, params, codes, q } = roundTrip(spec, x);
          const [cmin, cmax] = def.codeRange(spec);
          const channels = def.channels(params);
          if (channels !== 1 && channels !== C) return false;
          for (let i = 0; i < x.length; i++) {
            const c = channels === 1 ? 0 : i % C;
            const levels = def.levels(spec, params, c);
            if (codes[i] < cmin || codes[i] > cmax) return false;
            if (!levels.includes(q[i])) return false;
            if (q[i] < levels[0] || q[i] > levels[levels.length - 1]) return false;
            if (def.roundsToNearest) {
              // Nearest up to float32 rounding: x/s is rounded to float32 before rounding half to
              // even (as ONNX QuantizeLinear does), which may pick the other neighbour of a near-tie.
              let best = Infinity;
              for (const l of levels) best = Math.min(best, Math.abs(x[i] - l));
              const span = Math.abs(levels[0]) + Math.abs(levels[levels.length - 1]);
              if (Math.abs(x[i] - q[i]) > best + 1e-6 * span + 1e-12) return false;
            }
          }
          // Idempotence with the same parameters: q(q(x)) = q(x).
          const again = def.decode(def.encode(q, shape, spec, params), shape, spec, params);
          return again.every((v, i) => v === q[i]);
        }),
        { numRuns: 150 },
      );
    });

    test(`${label}: monotone within a channel`, () => {
      fc.assert(
        fc.property(tensors, (x) => {
          const { def, shape, params } = roundTrip(spec, x);
          // Sort each channel's values, quantize with the fitted parameters, check order is kept.
          const sorted = new Float32Array(x.length);
          for (let c = 0; c < C; c++) {
            const col = Float32Array.from({ length: x.length / C }, (_, r) => x[r * C + c]).sort();
            col.forEach((v, r) => (sorted[r * C + c] = v));
          }
          const q = def.decode(def.encode(sorted, shape, spec, params), shape, spec, params);
          for (let i = C; i < q.length; i++) if (q[i] < q[i - C]) return false;
          return true;
        }),
        { numRuns: 100 },
      );
    });

    test(`${label}: spec survives a JSON round trip; storage and hardware are declared`, () => {
      assert.deepEqual(parseFormatSpec(JSON.parse(JSON.stringify(spec))), spec);
      const def = formatOf(spec);
      const st = def.storage(spec);
      assert.ok(st.kind === 'fixed' ? st.bitsPerValue >= 1 && st.bitsPerValue <= 8 : st.baseBits >= 2);
      const [cmin, cmax] = def.codeRange(spec);
      const needed = Math.ceil(Math.log2(cmax - cmin + 1));
      assert.ok(needed <= (st.kind === 'fixed' ? st.bitsPerValue : st.baseBits + 1), `codes ${cmin}..${cmax} need ${needed} bits`);
      const hw = def.hardware(spec);
      assert.ok(hw.operandBits >= 1 && hw.multiplierBits >= 1 && hw.multiplierBits <= 8);
      assert.ok(def.gradientRule.length > 10 && !def.gradientRule.includes('\n'));
    });
  }
}

test('mpq with flags: flagged weights use the half-step grid, unflagged stay on even codes', () => {
  fc.assert(
    fc.property(tensors, fc.array(fc.boolean(), { minLength: 180, maxLength: 180 }), (x, bits) => {
      const flags = Uint8Array.from(bits.slice(0, x.length), Number);
      const spec = parseFormatSpec({ format: 'mpq', bits: 3 });
      const { def, shape, params, codes, q } = roundTrip(spec, x, flags);
      for (let i = 0; i < x.length; i++) {
        if (!flags[i] && codes[i] % 2 !== 0) return false;
        const levels = def.levels(spec, params, def.channels(params) === 1 ? 0 : i % C);
        if (!levels.includes(q[i])) return false;
      }
      return def.decode(def.encode(q, shape, spec, params), shape, spec, params).every((v, i) => v === q[i]);
    }),
  );
});

test('bad specs are refused with a clear message', () => {
  const bad: [unknown, RegExp][] = [
    [{ format: 'int', bits: 0 }, /invalid int spec .*bits: Too small/],
    [{ format: 'int', bits: 9 }, /invalid int spec .*bits: Too big/],
    [{ format: 'int', bits: 1 }, /signed symmetric int needs bits >= 2/],
    [
      { format: 'float8', bits: 8 },
      /unknown number format "float8"; expected one of: int, binary, ternary, po2, lsq, pact, esb, dybit, mpq/,
    ],
    [{ bits: 4 }, /unknown number format undefined/],
    [{ format: 'dybit', bits: 4, kmax: 4 }, /kmax: kmax must be at most the magnitude bits n/],
    [{ format: 'esb', bits: 4, k: 3 }, /k: k must be at most bits - 2/],
    [{ format: 'int', bits: 4, granularity: 'row' }, /granularity/],
    [{ format: 'int', bits: 4, rounding: 'up' }, /Unrecognized key/],
    [{ format: 'binary', bits: 2 }, /bits/],
    [{ format: 'mpq', bits: 8 }, /bits: Too big/],
  ];
  for (const [spec, re] of bad) assert.throws(() => parseFormatSpec(spec), re, JSON.stringify(spec));
});
