// ClipByValue natively, and its gradient as one kernel: tfjs's is four (GreaterEqual, LessEqual,
// LogicalAnd, Select), which made ReLU6 (a capped ReLU: Relu then ClipByValue) 70% of a
// MobileNet training step.
import { tf, type Tensor } from '../tf.js';
import type { NativeAddon } from '../native.js';
import { bindKernels } from '../addon-state.js';
import { f32, override, registerOwn } from '../override.js';
import { alloc } from '../buffer-pool.js';
import { activeNative } from '../state.js';
/** The native kernels this module calls (native/src), declared here next to their use. */
export interface ClipKernels {
  clip(x: Float32Array, lo: number, hi: number, y: Float32Array): void;
  clipGrad(dy: Float32Array, x: Float32Array, lo: number, hi: number, dx: Float32Array): void;
}
const CLIP_KERNELS: readonly (keyof ClipKernels)[] = ['clip', 'clipGrad'];

export function registerClip(addon: NativeAddon): void {
  const n = bindKernels<ClipKernels>(addon, CLIP_KERNELS);
  override('ClipByValue', ({ inputs, backend, attrs }) => {
    const xv = f32(backend, inputs.x);
    if (!xv) return null;
    const y = alloc(xv.length);
    n.clip(xv, attrs.clipValueMin as number, attrs.clipValueMax as number, y);
    return backend.makeTensorInfo(inputs.x!.shape, 'float32', y);
  });
  registerOwn('LowbitClipGrad', ({ inputs, backend, attrs }) => {
    const dy = f32(backend, inputs.dy)!,
      x = f32(backend, inputs.x)!;
    const dx = alloc(x.length);
    n.clipGrad(dy, x, attrs.lo as number, attrs.hi as number, dx);
    return backend.makeTensorInfo(inputs.x!.shape, 'float32', dx);
  });
  tf.registerGradient({
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: Record<string, unknown>) => {
      const [x] = saved;
      const g = dy as Tensor;
      const lo = attrs.clipValueMin as number,
        hi = attrs.clipValueMax as number;
      return {
        x: () =>
          activeNative() && x.dtype === 'float32' && g.dtype === 'float32'
            ? (tf.engine().runKernel('LowbitClipGrad', { dy: g, x }, { lo, hi }) as Tensor)
            : tf.where(tf.logicalAnd(tf.greaterEqual(x, lo), tf.lessEqual(x, hi)), g, tf.zerosLike(g)),
      };
    },
  });
}
