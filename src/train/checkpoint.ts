// The checkpoint file (.lbck): one file, written atomically, holding a model's topology and
// weights, optimizer state and training progress, with a sha256 over the payload.
//
//   "LBCK" | u32 version | u32 header bytes | header JSON (utf8) | payload (float32 LE)
//
// The header lists every tensor with its offset; loading checks magic, version, lengths,
// checksum and shapes and refuses anything else with one clear message.
import { createHash } from 'node:crypto';
import { readInputFile } from '../util/read.js';
import { tf } from '../engine/tf.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { OptimizerConfig, OptimizerState } from './optimizer.js';
// Layer classes a checkpoint's topology may name must be registered before it is rebuilt.
import '../nn/batch-norm.js';
import '../nn/qconv2d.js';
import '../nn/qdense.js';
import '../nn/qact.js';
import { quantizerArrays, restoreQuantizerArrays } from '../nn/quantizers.js';

const MAGIC = 'LBCK';
const VERSION = 1;
/** Generous bound on the JSON header so a damaged length field cannot ask for gigabytes. */
const MAX_HEADER = 64 << 20;

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointHeader {
  format: 'lowbit-checkpoint';
  version: number;
  createdAt: string;
  /** model.toJSON() topology (tfjs-layers format). */
  topology: unknown;
  /** Free-form description of how the model was built (zoo name, input shape, classes). */
  modelSpec: Record<string, unknown>;
  weights: TensorEntry[];
  optimizer: { config: OptimizerConfig; step: number; slots: TensorEntry[][] } | null;
  /** Named arrays: per-weight quantizer data (MPQ flags) and a retraining method's state. */
  arrays?: TensorEntry[];
  /** Training configuration and progress (epoch finished, history, ...). */
  state: Record<string, unknown>;
  payloadBytes: number;
  payloadSha256: string;
}

export interface CheckpointData {
  model: tf.LayersModel;
  modelSpec: Record<string, unknown>;
  optimizer: { config: OptimizerConfig; state: OptimizerState } | null;
  state: Record<string, unknown>;
  /** The method's named arrays (quantizer arrays are already restored into the model). */
  arrays: Record<string, Float32Array>;
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
    topology: input.model.toJSON(null, false),
    modelSpec: input.modelSpec,
    weights,
    optimizer,
    arrays: arrayEntries,
    state: input.state ?? {},
    payloadBytes: payload.length,
    payloadSha256: createHash('sha256').update(payload).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(VERSION, 4);
  pre.writeUInt32LE(json.length, 8);
  writeFileAtomic(file, [pre, json, payload]);
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

/** Reads and verifies the header and payload without building the model. */
export function readCheckpointRaw(file: string): { header: CheckpointHeader; payload: Float32Array } {
  const buf = readInputFile(file, 'checkpoint');
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) fail(file, 'not a lowbit checkpoint (bad magic)');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) fail(file, `checkpoint version ${version} not supported (expected ${VERSION})`);
  const hlen = buf.readUInt32LE(8);
  if (hlen > MAX_HEADER || 12 + hlen > buf.length) fail(file, `truncated or damaged header (length ${hlen}, file ${buf.length} bytes)`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as CheckpointHeader;
  } catch {
    fail(file, 'damaged header (invalid JSON)');
  }
  if (header.format !== 'lowbit-checkpoint') fail(file, 'header is not a lowbit checkpoint');
  const start = 12 + hlen;
  if (!Number.isInteger(header.payloadBytes) || header.payloadBytes % 4 !== 0) fail(file, 'damaged header (payload size)');
  if (buf.length - start !== header.payloadBytes)
    fail(file, `truncated or padded payload (${buf.length - start} bytes, header says ${header.payloadBytes})`);
  const bytes = buf.subarray(start);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== header.payloadSha256) fail(file, 'checksum mismatch: the file is damaged');
  const payload = new Float32Array(header.payloadBytes / 4);
  new Uint8Array(payload.buffer).set(bytes);
  const total = payload.length;
  const check = (e: TensorEntry) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n !== e.length || e.offset < 0 || e.offset + e.length > total) fail(file, `damaged tensor entry ${e.name}`);
  };
  header.weights.forEach(check);
  header.optimizer?.slots.forEach((s) => s.forEach(check));
  if (header.arrays !== undefined && !Array.isArray(header.arrays)) fail(file, 'damaged header (arrays)');
  header.arrays?.forEach(check);
  return { header, payload };
}

export async function loadCheckpoint(file: string): Promise<CheckpointData> {
  const { header, payload } = readCheckpointRaw(file);
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: header.topology as tf.io.ModelJSON['modelTopology'] } as tf.io.ModelJSON);
  } catch (e) {
    throw new Error(`${file}: cannot rebuild the model from its topology (${(e as Error).message})`);
  }
  const weights = model.weights;
  if (weights.length !== header.weights.length)
    throw new Error(`${file}: model has ${weights.length} weights but the checkpoint holds ${header.weights.length}`);
  const values = header.weights.map((e, i) => {
    const w = weights[i];
    if (w.shape.join() !== e.shape.join()) throw new Error(`${file}: weight ${e.name} has shape [${e.shape}], model expects [${w.shape}]`);
    return tf.tensor(payload.slice(e.offset, e.offset + e.length), e.shape, 'float32');
  });
  model.setWeights(values);
  tf.dispose(values);
  const optimizer = header.optimizer && {
    config: header.optimizer.config,
    state: {
      step: header.optimizer.step,
      slots: header.optimizer.slots.map((s) => s.map((e) => payload.slice(e.offset, e.offset + e.length))),
    },
  };
  const arrays: Record<string, Float32Array> = {};
  for (const e of header.arrays ?? []) arrays[e.name] = payload.slice(e.offset, e.offset + e.length);
  try {
    restoreQuantizerArrays(model, arrays);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { model, modelSpec: header.modelSpec, optimizer, state: header.state, arrays };
}
