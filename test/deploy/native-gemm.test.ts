// The native integer convs against the TypeScript one on random geometries: odd sizes, padding,
// strides, outputs not a multiple of the channel blocks, reductions not a multiple of 16, small
// levels (maddubs with int16 sums), 8-bit levels (the exact 16-bit kernel, or VNNI), signed grids
// (offset correction), weights stored at 2 and 4 bits through a level table, float outputs and
// grid outputs (uniform thresholds by shift, others by search, ReLU floors), and shapes large
// enough to span several panels and work items. Layers with contiguous window rows run on the
// direct kernel (native/src/directconv.cc; padded ones on a bordered copy), the others on gathered
// panels (intgemm.cc); both run with every dot product this CPU has (VNNI forms, AVX2's maddubs),
// the direct one with and without a fused 2×2 max pool, and on inputs with no slack after them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  nativeConv,
  nativePoolable,
  prepareNativeConv,
  qconvKernels,
  type NativeConv,
  type NativeIsa,
  type QconvKernels,
} from '../../src/deploy/runtime/native-conv.js';
import { engine } from '../helpers/compare.js';
import {
  corpusAgainstTypeScript,
  largeLayersAgainstTypeScript,
  pooledCorpusAgainstTypeScript,
  type ByteConv,
} from '../helpers/byte-conv-check.js';

const hasNative = await engine();
const addon = hasNative ? qconvKernels() : null;

// The kernel each call ran on: the direct one or gathered panels.
const ran = { direct: 0, gathered: 0 };
const counted: QconvKernels | null = addon && {
  qconv: (...a) => (ran.gathered++, addon.qconv(...a)),
  // Every other call gets an input whose buffer ends with it: the kernel copies it rather than read past.
  qconvDirect: (x, ...a) => (ran.direct++, addon.qconvDirect(ran.direct % 2 ? new Uint8Array(x) : x, ...a)),
  intIsa: (set) => addon.intIsa(set),
};
const native: ByteConv = {
  prepare: prepareNativeConv,
  run: (c, bytes, shape, g, out, target) => nativeConv(counted!, c as NativeConv, bytes, shape, g, out, target),
};

// The dot products this CPU runs, best first.
const isas: NativeIsa[] = [];
if (addon) {
  const best = addon.intIsa();
  for (const isa of ['avx512vnni', 'avxvnni', 'avx2'] as NativeIsa[]) {
    try {
      addon.intIsa(isa);
      isas.push(isa);
    } catch {
      // Not on this CPU.
    }
  }
  addon.intIsa(best);
}

test(`the native dot products here: ${isas.join(', ') || 'none'}`, { skip: !hasNative }, () => {
  assert.ok(isas.includes('avx2'), 'the AVX2 kernels always run');
  assert.throws(() => addon!.intIsa('sse2' as NativeIsa), /unknown instruction set 'sse2'; expected avx2, avxvnni or avx512vnni/);
});

for (const isa of isas) {
  const withIsa = (f: () => void) => () => {
    const best = addon!.intIsa();
    addon!.intIsa(isa);
    try {
      f();
    } finally {
      addon!.intIsa(best);
    }
  };

  test(
    `native integer conv equals the TypeScript conv (${isa})`,
    withIsa(() => {
      ran.direct = ran.gathered = 0;
      // The corpus's weights all fit int8, so the native path takes every case.
      corpusAgainstTypeScript(native, () => false);
      // Gathered panels: horizontal dilation, and (AVX2) 8-bit inputs meeting 8-bit weights.
      assert.ok(ran.direct > 100 && ran.gathered > 10, `${ran.direct} cases on the direct kernel, ${ran.gathered} on gathered panels`);
    }),
  );

  test(
    `native integer conv with a fused 2×2 max pool equals the TypeScript conv and pool (${isa})`,
    withIsa(() => {
      const ran = pooledCorpusAgainstTypeScript({
        ...native,
        poolable: (c, shape, g, out) => nativePoolable(counted!, c as NativeConv, shape, g, out),
        runPooled: (c, bytes, shape, g, out, target) => nativeConv(counted!, c as NativeConv, bytes, shape, g, out, target, true),
      });
      assert.ok(ran > 100, `only ${ran} cases ran`);
    }),
  );

  test(
    `native integer conv splits large layers over panels and channel blocks exactly (${isa})`,
    withIsa(() => {
      largeLayersAgainstTypeScript(native, (cv, table) => {
        const meta = (cv as NativeConv).meta;
        assert.equal(meta[5], table ? 4 : 8, 'weights stored at 4 bits through the table');
        assert.equal(meta[4], table ? 0 : 1, 'kernel chosen by the value ranges');
      });
    }),
  );
}
