// Native kernels are declared by the module that calls them (an interface and its names next to the
// call); binding them checks the addon has every one, so a stale build is named, not called.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative, type NativeAddon } from '../../src/engine/native.js';
import { bindKernels } from '../../src/engine/addon-state.js';
import { FAKE_QUANT_KERNELS, type FakeQuantKernels } from '../../src/quant/fake-quant.js';

test('binding kernels names the ones a build lacks', () => {
  const stale = { setThreads: () => 1, fqUniform: () => undefined } as unknown as NativeAddon;
  assert.throws(
    () => bindKernels<FakeQuantKernels>(stale, FAKE_QUANT_KERNELS),
    /the native addon lacks fqBinary, fqTernary, .*; rebuild it/,
  );
  const { addon } = loadNative();
  if (addon) assert.equal(bindKernels<FakeQuantKernels>(addon, FAKE_QUANT_KERNELS) as unknown, addon);
});
