// The stock Relu gradient is three kernels (step, cast, multiply); this makes it one.
import { tf, type Tensor } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { bindKernels } from '../addon-state.js';
import { f32, registerOwn } from '../override.js';
import { alloc } from '../buffer-pool.js';
import { activeNative } from '../state.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface ReluGradKernels {
  reluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
}
const RELUGRAD_KERNELS: readonly (keyof ReluGradKernels)[] = ['reluGrad'];

export function registerReluGrad(addon: NativeAddon): void {
  const n = bindKernels<ReluGradKernels>(addon, RELUGRAD_KERNELS);
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
