// A typed wrapper over tf.customGrad: f gets the input tensors and a save function and
// returns the output with its gradient function (one gradient per input).
import { tf, type Tensor } from '../tf.js';

export type GradFunc = (dy: Tensor, saved: Tensor[]) => Tensor[];
export type CustomOpBody = (inputs: Tensor[], save: tf.GradSaveFunc) => { value: Tensor; gradFunc: GradFunc };

export function customOp(body: CustomOpBody): (...inputs: Tensor[]) => Tensor {
  const g = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const { value, gradFunc } = body(args as Tensor[], save);
    return { value, gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => gradFunc(dy as Tensor, saved) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (...inputs: Tensor[]) => g(...inputs) as Tensor;
}
