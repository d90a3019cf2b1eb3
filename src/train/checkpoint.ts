// Saving and loading checkpoints (.lbck): a model's topology and weights, optimizer state and
// training progress in one file, written atomically. The byte layout and every check of a file
// read back live in checkpoint-format.ts; this file turns models into entries and back.
import { tf } from '../engine/tf.js';
import { writeFileAtomic } from '../util/atomic.js';
import { parseOptimizerConfig, type OptimizerConfig, type OptimizerState } from './optimizer.js';
// Layer classes a checkpoint's topology may name must be registered before it is rebuilt.
import '../nn/batch-norm.js';
import '../nn/qconv2d.js';
import '../nn/qdepthwise.js';
import '../nn/qdense.js';
import '../nn/qact.js';
import { quantizerArrays, restoreQuantizerArrays } from '../nn/quantizers.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpointRaw,
  VERSION,
  type CheckpointHeader,
  type RawCheckpoint,
  type TensorEntry,
} from './checkpoint-format.js';

export { readCheckpointRaw, checkpointFingerprint, type CheckpointHeader } from './checkpoint-format.js';

export interface CheckpointData {
  model: tf.LayersModel;
  modelSpec: Record<string, unknown>;
  optimizer: { config: OptimizerConfig; state: OptimizerState } | null;
  state: Record<string, unknown>;
  /** The method's named arrays (quantizer arrays are already restored into the model). */
  arrays: Record<string, Float32Array>;
  /** sha256 of the whole file: the fingerprint a run records of its input. */
  sha256: string;
}

export interface SaveInput {
  model: tf.LayersModel;
  modelSpec: Record<string, unknown>;
  optimizer?: { config: OptimizerConfig; state: OptimizerState } | null;
  state?: Record<string, unknown>;
  /** A retraining method's per-weight state (names must not start with 'quant/'). */
  arrays?: Record<string, Float32Array>;
}

export function saveCheckpoint(file: string, input: SaveInput): void {
  const arrays: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], values: Float32Array): TensorEntry => {
    arrays.push(values);
    const e = { name, shape, offset, length: values.length };
    offset += values.length;
    return e;
  };
  const weights = input.model.weights.map((w) => {
    const v = w.read();
    return add(w.originalName, v.shape, Float32Array.from(v.dataSync() as Float32Array));
  });
  // A checkpoint is what the next stage trusts: never write weights a loader would refuse.
  for (const [i, e] of weights.entries()) {
    const bad = arrays[i].findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`refusing to save ${file}: weight ${e.name} holds a non-finite value (${arrays[i][bad]}) at ${bad}`);
  }
  const opt = input.optimizer ?? null;
  const optimizer = opt && {
    config: opt.config,
    step: opt.state.step,
    slots: opt.state.slots.map((slots, i) => slots.map((a, j) => add(`opt/${i}/${j}`, [a.length], a))),
  };
  for (const k of Object.keys(input.arrays ?? {}))
    if (k.startsWith('quant/')) throw new Error(`checkpoint array name '${k}' is reserved for quantizer arrays`);
  const named = { ...quantizerArrays(input.model), ...input.arrays };
  const arrayEntries = Object.entries(named).map(([k, a]) => add(k, [a.length], a));
  const payload = new Uint8Array(offset * 4);
  const f32 = new Float32Array(payload.buffer);
  let at = 0;
  for (const a of arrays) {
    f32.set(a, at);
    at += a.length;
  }
  const header: CheckpointHeader = {
    format: 'lowbit-checkpoint',
    version: VERSION,
    createdAt: new Date().toISOString(),
    topology: input.model.toJSON(null, false) as unknown as Record<string, unknown>,
    modelSpec: input.modelSpec,
    weights,
    optimizer: optimizer as CheckpointHeader['optimizer'],
    arrays: arrayEntries,
    state: input.state ?? {},
    payloadBytes: payload.length,
  };
  writeFileAtomic(file, encodeCheckpoint(header, payload));
}

export async function loadCheckpoint(file: string): Promise<CheckpointData> {
  return fromRaw(readCheckpointRaw(file), file);
}

/** A checkpoint from its bytes (verified as a file would be); `name` stands for the file in errors. */
export async function loadCheckpointBytes(bytes: Buffer, name: string): Promise<CheckpointData> {
  return fromRaw(decodeCheckpoint(bytes, name), name);
}

async function fromRaw({ header, payload, sha256 }: RawCheckpoint, file: string): Promise<CheckpointData> {
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: header.topology as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON);
  } catch (e) {
    // tfjs quotes the whole configuration in some messages: keep the first line, and not all of it.
    const why = String((e as Error).message).split('\n')[0];
    throw new Error(`${file}: cannot rebuild the model from its topology (${why.length > 160 ? `${why.slice(0, 160)}…` : why})`);
  }
  const weights = model.weights;
  if (weights.length !== header.weights.length)
    throw new Error(`${file}: model has ${weights.length} weights but the checkpoint holds ${header.weights.length}`);
  const values = header.weights.map((e, i) => {
    const w = weights[i];
    if (e.name !== w.originalName) throw new Error(`${file}: weight ${i} is named ${e.name}, the model's is ${w.originalName}`);
    if (w.shape.join() !== e.shape.join()) throw new Error(`${file}: weight ${e.name} has shape [${e.shape}], model expects [${w.shape}]`);
    return tf.tensor(payload.slice(e.offset, e.offset + e.length), e.shape, 'float32');
  });
  model.setWeights(values);
  tf.dispose(values);
  const optimizer = header.optimizer && {
    config: parseOptimizerConfig(header.optimizer.config, file),
    state: {
      step: header.optimizer.step,
      slots: header.optimizer.slots.map((s) => s.map((e) => payload.slice(e.offset, e.offset + e.length))),
    },
  };
  const arrays: Record<string, Float32Array> = {};
  for (const e of header.arrays) {
    if (e.name in arrays) throw new Error(`${file}: damaged header: array ${e.name} is listed twice`);
    arrays[e.name] = payload.slice(e.offset, e.offset + e.length);
  }
  try {
    restoreQuantizerArrays(model, arrays);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { model, modelSpec: header.modelSpec, optimizer, state: header.state, arrays, sha256 };
}
