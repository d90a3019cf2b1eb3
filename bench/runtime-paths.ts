// The integer runtime's three paths on the same packed models in one Node process: the native
// AVX2 kernels, the WebAssembly SIMD GEMM (what browsers and Node without the addon run) and the
// TypeScript loops, at one thread. Random weights, quantizers fitted on random data (speed does not
// depend on accuracy). Prints one JSON row per model and configuration with ms per batch and ratios.
// Usage: node dist/bench/runtime-paths.js [--models lenet5,vgg9] [--runs 5]
import { Command } from 'commander';
import { tf } from '../src/engine/tf.js';
import { initEngine } from '../src/engine/setup.js';
import { buildModel } from '../src/models/zoo.js';
import { quantizeModel } from '../src/nn/quantize-model.js';
import { packModel } from '../src/deploy/pack.js';
import { loadLowbit } from '../src/deploy/runtime/model.js';
import { setNativeKernels } from '../src/engine/addon-state.js';
import { setWasmKernels } from '../src/deploy/runtime/wasm-kernels.js';
import { intConfig } from './int-config.js';
import { median } from './step-timing.js';
import type { InputShape } from '../src/models/common.js';

const cases: Record<string, { batch: number; shape: InputShape }> = {
  lenet5: { batch: 256, shape: [28, 28, 1] },
  vgg9: { batch: 16, shape: [32, 32, 3] },
};
const int = intConfig;

const program = new Command('runtime-paths')
  .option('--models <list>', 'models', 'lenet5,vgg9')
  .option('--runs <n>', 'timed runs (median)', (v) => Number(v), 5)
  .parse();
const o = program.opts<{ models: string; runs: number }>();
const engine = await initEngine({ quiet: true, threads: 1 });
for (const name of o.models.split(',')) {
  const c = cases[name];
  if (!c) throw new Error(`unknown model '${name}' (expected ${Object.keys(cases).join(', ')})`);
  const x = tf.randomNormal([c.batch, ...c.shape], 0, 1, 'float32', 3);
  const input = Float32Array.from(x.dataSync() as Float32Array);
  for (const bits of [8, 4, 2]) {
    const { model } = await quantizeModel(buildModel(name, { inputShape: c.shape, numClasses: 10, seed: 1 }), int(bits));
    tf.tidy(() => void model.apply(x, { training: true }));
    const lowbit = loadLowbit(packModel(model).bytes);
    const time = (nativeOn: boolean, wasmOn: boolean) => {
      const n = setNativeKernels(nativeOn),
        w = setWasmKernels(wasmOn);
      try {
        lowbit.predict(input, c.batch);
        const t: number[] = [];
        for (let i = 0; i < o.runs; i++) {
          const t0 = performance.now();
          lowbit.predict(input, c.batch);
          t.push(performance.now() - t0);
        }
        return median(t);
      } finally {
        setNativeKernels(n);
        setWasmKernels(w);
      }
    };
    const native = engine.native ? time(true, false) : null;
    const wasm = time(false, true);
    const ts = time(false, false);
    console.log(
      JSON.stringify({
        model: name,
        batch: c.batch,
        config: `W${bits}A${bits}`,
        threads: 1,
        native_ms: native === null ? null : Number(native.toFixed(2)),
        wasm_ms: Number(wasm.toFixed(2)),
        ts_ms: Number(ts.toFixed(2)),
        wasm_vs_ts: Number((ts / wasm).toFixed(2)),
        native_vs_wasm: native === null ? null : Number((wasm / native).toFixed(2)),
      }),
    );
  }
  x.dispose();
}
