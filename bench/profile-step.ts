// Kernel-level profile of one model's training step: wraps every registered cpu kernel with a
// timer and prints JSON rows (kernel, calls, ms per step), plus time spent outside kernels.
// Usage: node dist/bench/profile-step.js [model] [steps]
import { tf } from '../src/engine/tf.js';
import { initEngine } from '../src/engine/setup.js';
import { buildModel } from '../src/models/zoo.js';
import { Optimizer } from '../src/train/optimizer.js';
import { trainStep, trainableVariables } from '../src/train/step.js';
import type { InputShape } from '../src/models/common.js';

const shapes: Record<string, [number, InputShape]> = {
  lenet5: [128, [28, 28, 1]],
  resnet20: [128, [32, 32, 3]],
  vgg9: [64, [32, 32, 3]],
  mobilenet: [128, [28, 28, 1]],
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'vgg9';
  const steps = Number(process.argv[3] ?? 5);
  if (!shapes[name]) throw new Error(`unknown model '${name}'`);
  await initEngine();
  const stats = new Map<string, { calls: number; ms: number }>();
  let depth = 0;
  for (const k of tf.getKernelsForBackend('cpu')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'cpu');
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: unknown) => {
        depth++;
        const t = performance.now();
        try {
          return (f as (a: unknown) => unknown)(args);
        } finally {
          depth--;
          if (depth === 0) {
            const s = stats.get(k.kernelName) ?? { calls: 0, ms: 0 };
            s.calls++;
            s.ms += performance.now() - t;
            stats.set(k.kernelName, s);
          }
        }
      }) as tf.KernelFunc,
    });
  }
  const [batch, shape] = shapes[name];
  const model = buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
  const x = tf.randomNormal([batch, ...shape]);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'int32',
  );
  const opt = new Optimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  const vars = trainableVariables(model);
  trainStep(model, x, y, opt, 0.01, vars);
  stats.clear();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainStep(model, x, y, opt, 0.01, vars);
  const total = (performance.now() - t0) / steps;
  const rows = [...stats.entries()].map(([kernel, s]) => ({ kernel, calls: s.calls / steps, ms: Number((s.ms / steps).toFixed(2)) }));
  rows.sort((a, b) => b.ms - a.ms);
  const inKernels = rows.reduce((s, r) => s + r.ms, 0);
  for (const r of rows) console.log(JSON.stringify(r));
  console.log(
    JSON.stringify({
      model: name,
      step_ms: Number(total.toFixed(1)),
      kernels_ms: Number(inKernels.toFixed(1)),
      outside_ms: Number((total - inKernels).toFixed(1)),
    }),
  );
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
