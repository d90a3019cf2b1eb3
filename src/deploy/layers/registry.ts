// The table of layer ops, keyed by class name, registered the way tfjs registers kernels: every
// consumer of a packed model (pack, readPacked, the runtime, both exports, hw/) looks a layer up
// here. A new layer kind is a file exporting its LayerOp and one line in `builtIn`; a library or a
// test may also register one at run time with registerOp.
import type { LayerOp } from './layer-op.js';
import { inputOp } from './input.js';
import { convOps } from './conv.js';
import { batchNormOp } from './batch-norm.js';
import { avgPoolOp, maxPoolOp } from './pooling.js';
import { globalAvgPoolOp } from './global-pool.js';
import { flattenOp } from './flatten.js';
import { activationLayerOp, reluOp } from './activation.js';
import { addOp } from './add.js';
import { qactOp } from './qact.js';
import { zeroPaddingOp } from './zero-padding.js';
import { concatenateOp } from './concatenate.js';

export type { LayerOp } from './layer-op.js';

const builtIn: LayerOp[] = [
  inputOp,
  ...convOps,
  batchNormOp,
  maxPoolOp,
  avgPoolOp,
  globalAvgPoolOp,
  flattenOp,
  reluOp,
  activationLayerOp,
  addOp,
  qactOp,
  zeroPaddingOp,
  concatenateOp,
];

const ops = new Map<string, LayerOp>(builtIn.map((o) => [o.className, o]));

/** The op of a layer class, or undefined for a class the packed format does not know. */
export function opOf(className: string): LayerOp | undefined {
  return ops.get(className);
}

/** Every class name in the table. */
export function layerClassNames(): string[] {
  return [...ops.keys()];
}

/** Adds a layer op (a library's own layer kind); refuses a class name already taken. */
export function registerOp(op: LayerOp): void {
  if (ops.has(op.className)) throw new Error(`layer op ${op.className} is already registered`);
  ops.set(op.className, op);
}

/** Removes an op registered at run time (tests); the built-in ops stay. */
export function unregisterOp(className: string): void {
  if (builtIn.some((o) => o.className === className)) throw new Error(`layer op ${className} is built in`);
  ops.delete(className);
}
