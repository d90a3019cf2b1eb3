// The model registry: names the CLI and experiments use.
import type { tf } from '../engine/tf.js';
import type { ModelOptions } from './common.js';
import { lenet5 } from './lenet5.js';
import { vgg9 } from './vgg9.js';
import { resnet20 } from './resnet20.js';
import { mobilenet } from './mobilenet.js';

export const zoo = { lenet5, vgg9, resnet20, mobilenet } as const satisfies Record<string, (o: ModelOptions) => tf.LayersModel>;
export type ModelName = keyof typeof zoo;
export const modelNames = Object.keys(zoo) as ModelName[];

export function isModelName(s: string): s is ModelName {
  return Object.prototype.hasOwnProperty.call(zoo, s);
}

/** Builds a zoo model; unknown names get an error listing the known ones. */
export function buildModel(name: string, o: ModelOptions): tf.LayersModel {
  if (!isModelName(name)) throw new Error(`unknown model '${name}'; expected one of: ${modelNames.join(', ')}`);
  return zoo[name](o);
}
