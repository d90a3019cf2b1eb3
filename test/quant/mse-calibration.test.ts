// The MSE calibration of int grids: the native candidate kernel reproduces the TypeScript search
// exactly (same arithmetic, same order), so a run picks the same grid with or without the addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import '../helpers/fast-check-setup.js';
import { activeNative } from '../../src/engine/state.js';
import { formatOf, parseFormatSpec } from '../../src/quant/registry.js';
import { setMseAccelerator } from '../../src/quant/uniform.js';
import { engine } from '../helpers/compare.js';

await engine();
const hasNative = activeNative() !== null;

test('native MSE calibration picks exactly the grids of the TypeScript search', { skip: !hasNative && 'no native addon' }, () => {
  fc.assert(
    fc.property(
      fc.record({
        bits: fc.integer({ min: 2, max: 8 }),
        signed: fc.boolean(),
        symmetric: fc.boolean(),
        channel: fc.boolean(),
        channels: fc.integer({ min: 1, max: 6 }),
        rows: fc.integer({ min: 1, max: 300 }),
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        tail: fc.double({ min: 0.5, max: 8, noNaN: true }),
      }),
      (p) => {
        const spec = parseFormatSpec({
          format: 'int',
          bits: p.bits,
          signed: p.signed,
          symmetric: p.symmetric,
          granularity: p.channel ? 'channel' : 'tensor',
          calibration: 'mse',
        });
        // Heavy-tailed values (MSE clips them) with exact ties and zeros mixed in.
        let s = p.seed;
        const x = Float32Array.from({ length: p.rows * p.channels }, (_, i) => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          const u = (s + 0.5) / 4294967296;
          if (i % 7 === 0) return 0;
          if (i % 11 === 0) return 0.25;
          return (u - 0.5) * (1 + p.tail * u ** 6) - (p.signed ? 0 : -0.3);
        });
        const shape = [p.rows, p.channels];
        const fit = () => JSON.stringify(formatOf(spec).fit(x, shape, spec as never));
        const native = fit();
        const old = setMseAccelerator(null);
        try {
          assert.equal(native, fit());
        } finally {
          setMseAccelerator(old);
        }
      },
    ),
    { numRuns: 150, seed: 7 },
  );
});
