// Shared pieces of the zoo: seeded initializers and the model-builder contract.
import { tf } from '../engine/tf.js';

export type InputShape = [number, number, number];

export interface ModelOptions {
  /** [height, width, channels] of one input image. */
  inputShape: InputShape;
  numClasses: number;
  /** Seed for weight initialization: the same seed builds the same weights. */
  seed?: number;
  /** Width multiplier of the channel counts (mobilenet; 1 by default). */
  width?: number;
}

/** He-normal initializer with a per-layer seed derived from the model seed. */
export function heInit(seed: number, layerIndex: number): ReturnType<typeof tf.initializers.heNormal> {
  return tf.initializers.heNormal({ seed: (seed * 1000003 + layerIndex * 7919) % 2147483647 });
}

export function validateOptions(model: string, o: ModelOptions): void {
  const [h, w, c] = o.inputShape;
  if (![h, w, c].every((v) => Number.isInteger(v) && v > 0))
    throw new Error(`${model}: inputShape must be three positive integers [h, w, c], got [${o.inputShape}]`);
  if (!Number.isInteger(o.numClasses) || o.numClasses < 2)
    throw new Error(`${model}: numClasses must be an integer >= 2, got ${o.numClasses}`);
  if (o.width !== undefined && !(o.width > 0 && o.width <= 4)) throw new Error(`${model}: width must be in (0, 4], got ${o.width}`);
}
