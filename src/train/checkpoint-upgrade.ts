// Version 1 checkpoints (lowbit 0.1.0) carried a sha256 of the payload only, so a changed header
// went unnoticed. Upgrading verifies what version 1 could (the payload digest), rewrites the file
// in version 2 and then reads it back through every version-2 check, so a damaged or hostile v1
// header is refused here rather than sealed under a new digest.
import { createHash } from 'node:crypto';
import { READ_LIMITS, readInputFile } from '../util/read.js';
import { writeFileAtomic } from '../util/atomic.js';
import { decodeCheckpoint, encodeCheckpoint, MAGIC, MAX_HEADER, VERSION, type RawCheckpoint } from './checkpoint-format.js';

/** The version-2 bytes of a version-1 checkpoint, verified. */
export function upgradeV1(buf: Buffer, file: string): { parts: Uint8Array[]; checked: RawCheckpoint } {
  const fail = (what: string): never => {
    throw new Error(`${file}: ${what}`);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) fail('not a lowbit checkpoint (bad magic)');
  const version = buf.readUInt32LE(4);
  if (version !== 1) fail(`checkpoint version ${version} is not version 1`);
  const hlen = buf.readUInt32LE(8);
  if (hlen > MAX_HEADER || 12 + hlen > buf.length) fail(`truncated or damaged header (length ${hlen}, file ${buf.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as Record<string, unknown>;
  } catch {
    return fail('damaged header (invalid JSON)');
  }
  if (header === null || typeof header !== 'object') fail('damaged header (not an object)');
  const payload = buf.subarray(12 + hlen);
  if (header.payloadBytes !== payload.length)
    fail(`truncated or padded payload (${payload.length} bytes, header says ${String(header.payloadBytes)})`);
  if (createHash('sha256').update(payload).digest('hex') !== header.payloadSha256) fail('checksum mismatch: the file is damaged');
  const { payloadSha256: _digest, ...rest } = header;
  const v2 = { ...rest, version: VERSION, arrays: rest.arrays ?? [] } as Parameters<typeof encodeCheckpoint>[0];
  const parts = encodeCheckpoint(v2, payload);
  const checked = decodeCheckpoint(Buffer.concat(parts), file);
  return { parts, checked };
}

/** Rewrites a version-1 checkpoint file in place as version 2; returns the new fingerprint. */
export function upgradeCheckpointFile(file: string, out = file): string {
  const buf = readInputFile(file, 'checkpoint', { maxBytes: READ_LIMITS.checkpoint });
  const { parts, checked } = upgradeV1(buf, file);
  writeFileAtomic(out, parts);
  return checked.sha256;
}
