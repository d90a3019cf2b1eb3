// The stock Relu gradient is three kernels (step, cast, multiply); this makes it one.
import { tf, type Tensor } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { f32, registerOwn } from '../override.js';
import { alloc } from '../buffer-pool.js';
import { activeNative } from '../state.js';

export function registerReluGrad(n: NativeAddon): void {
  registerOwn('LowbitReluGrad', ({ inputs, backend }) => {
    const dy = f32(backend, inputs.dy)!,
      x = f32(backend, inputs.x)!;
    const dx = alloc(x.length);
    n.reluGrad(dy, x, dx);
    return backend.makeTensorInfo(inputs.x!.shape, 'float32', dx);
  });
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [x] = saved;
      const g = dy as Tensor;
      return {
        x: () =>
          activeNative() && x.dtype === 'float32' && g.dtype === 'float32'
            ? (tf.engine().runKernel('LowbitReluGrad', { dy: g, x }) as Tensor)
            : tf.mul(g, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
}
