// The bytes of a checkpoint file (.lbck), version 2:
//
//   "LBCK" | u32 version | u32 header bytes | header JSON (utf8) | payload (float32 LE) | sha256 of all before it
//
// The digest covers the whole file, header included: a changed offset, shape or setting is a
// damaged file. Beyond the digest (which a hostile writer can recompute), every number in the
// header is checked before use: the schema bounds each field, tensors must tile the payload in
// the order they are listed (offsets are fully determined, so none can be moved or swapped),
// every shape must multiply out to its length, and weights and optimizer state must be finite.
// Version 1 files (digest over the payload only) are refused with the command that upgrades them.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { READ_LIMITS, readInputFile } from '../util/read.js';

export const MAGIC = 'LBCK';
export const VERSION = 2;
const PREFIX = 12;
const DIGEST = 32;
/** Generous bound on the JSON header so a damaged length field cannot ask for gigabytes. */
export const MAX_HEADER = 64 << 20;

const count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);
const tensorEntrySchema = z
  .object({ name: z.string().min(1).max(1024), shape: z.array(count).max(8), offset: count, length: count })
  .strict();
export type TensorEntry = z.output<typeof tensorEntrySchema>;

export const checkpointHeaderSchema = z
  .object({
    format: z.literal('lowbit-checkpoint'),
    version: z.literal(VERSION),
    createdAt: z.string().max(64),
    /** model.toJSON() topology (tfjs-layers format). */
    topology: z.record(z.string(), z.unknown()),
    /** How the model was built (zoo name, input shape, classes, dataset). */
    modelSpec: z.record(z.string(), z.unknown()),
    weights: z.array(tensorEntrySchema).max(100_000),
    optimizer: z
      .object({
        config: z.record(z.string(), z.unknown()),
        step: count,
        slots: z.array(z.array(tensorEntrySchema).max(8)).max(100_000),
      })
      .strict()
      .nullable(),
    /** Named arrays: per-weight quantizer data (MPQ flags) and a retraining method's state. */
    arrays: z.array(tensorEntrySchema).max(100_000),
    /** Training configuration and progress (epoch finished, history, ...). */
    state: z.record(z.string(), z.unknown()),
    payloadBytes: count,
  })
  .strict();

export type CheckpointHeader = z.output<typeof checkpointHeaderSchema>;

export interface RawCheckpoint {
  header: CheckpointHeader;
  payload: Float32Array;
  /** sha256 of the whole file (hex): the checkpoint's fingerprint. */
  sha256: string;
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

/** The file's bytes from a header (tensor offsets already assigned in order) and the payload. */
export function encodeCheckpoint(header: CheckpointHeader, payload: Uint8Array): Uint8Array[] {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(PREFIX);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(VERSION, 4);
  pre.writeUInt32LE(json.length, 8);
  const digest = createHash('sha256').update(pre).update(json).update(payload).digest();
  return [pre, json, payload, digest];
}

/** Every tensor entry in file order: weights, optimizer slots, named arrays. */
export function entriesInOrder(h: CheckpointHeader): { entry: TensorEntry; kind: 'weight' | 'optimizer' | 'array' }[] {
  return [
    ...h.weights.map((entry) => ({ entry, kind: 'weight' as const })),
    ...(h.optimizer?.slots.flat() ?? []).map((entry) => ({ entry, kind: 'optimizer' as const })),
    ...h.arrays.map((entry) => ({ entry, kind: 'array' as const })),
  ];
}

function checkPrefix(file: string, buf: Buffer): void {
  if (buf.length < 4 || buf.toString('latin1', 0, 4) !== MAGIC) fail(file, 'not a lowbit checkpoint (bad magic)');
  if (buf.length < PREFIX) fail(file, `truncated: ${buf.length} bytes is shorter than the ${PREFIX}-byte prefix`);
  const version = buf.readUInt32LE(4);
  if (version === 1)
    fail(file, 'checkpoint version 1 (its header is not covered by its checksum); upgrade it with `lowbit checkpoint upgrade <file>`');
  if (version !== VERSION) fail(file, `checkpoint version ${version} not supported (expected ${VERSION})`);
  const hlen = buf.readUInt32LE(8);
  if (hlen > MAX_HEADER) fail(file, `damaged header (length ${hlen} exceeds ${MAX_HEADER} bytes)`);
}

/** Reads and verifies a checkpoint file without building the model. */
export function readCheckpointRaw(file: string): RawCheckpoint {
  const buf = readInputFile(file, 'checkpoint', {
    maxBytes: READ_LIMITS.checkpoint,
    prefixBytes: PREFIX,
    checkPrefix: (p) => checkPrefix(file, p),
  });
  return decodeCheckpoint(buf, file);
}

/** Verifies a checkpoint's bytes: digest, header schema, layout and values. `file` names it in errors. */
export function decodeCheckpoint(buf: Buffer, file: string): RawCheckpoint {
  checkPrefix(file, buf);
  const hlen = buf.readUInt32LE(8);
  if (PREFIX + hlen + DIGEST > buf.length) fail(file, `truncated or damaged header (length ${hlen}, file ${buf.length} bytes)`);
  const body = buf.subarray(0, buf.length - DIGEST);
  const sha = createHash('sha256').update(body).digest();
  if (!sha.equals(buf.subarray(buf.length - DIGEST))) fail(file, 'checksum mismatch: the file is damaged');
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', PREFIX, PREFIX + hlen));
  } catch {
    fail(file, 'damaged header (invalid JSON)');
  }
  const parsed = checkpointHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    fail(file, `damaged header: ${i.path.join('.') || 'header'}: ${i.message}`);
  }
  const header = parsed.data;
  const start = PREFIX + hlen;
  if (header.payloadBytes % 4 !== 0) fail(file, 'damaged header (payload size is not a whole number of float32 values)');
  if (body.length - start !== header.payloadBytes)
    fail(file, `truncated or padded payload (${body.length - start} bytes, header says ${header.payloadBytes})`);
  const payload = new Float32Array(header.payloadBytes / 4);
  new Uint8Array(payload.buffer).set(body.subarray(start));
  // The tensors tile the payload in order: each offset is the sum of the lengths before it.
  let at = 0;
  for (const { entry: e, kind } of entriesInOrder(header)) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n !== e.length)
      fail(file, `damaged tensor entry ${e.name}: shape [${e.shape.join(', ')}] holds ${n} values, length says ${e.length}`);
    if (e.offset !== at) fail(file, `damaged tensor entry ${e.name}: offset ${e.offset}, expected ${at} (tensors are stored in order)`);
    at += e.length;
    if (at > payload.length) fail(file, `damaged tensor entry ${e.name}: ends past the payload`);
    for (let i = e.offset; i < at; i++)
      if (!Number.isFinite(payload[i])) fail(file, `${kind} ${e.name} holds a non-finite value (${payload[i]}) at ${i - e.offset}`);
  }
  if (at !== payload.length) fail(file, `${payload.length - at} payload values belong to no tensor`);
  return { header, payload, sha256: sha.toString('hex') };
}

/** sha256 (hex) of a checkpoint file as it is on disk: the fingerprint runs record of their input. */
export function checkpointFingerprint(file: string): string {
  return readCheckpointRaw(file).sha256;
}
