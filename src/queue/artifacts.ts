// The content-addressed artifact store of distributed runs: input checkpoints, the per-epoch
// checkpoints of running jobs and their outputs, each kept under its sha256. Two backends behind
// one interface: a shared directory (NFS-style, `dir:/path`) and Redis itself (`redis`, for small
// models). Every transfer is verified by hash in both directions, and a worker keeps what it has
// fetched in a local cache (also verified on use), so an input shared by many jobs moves once.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { writeFileAtomic } from '../util/atomic.js';
import { readInputFile } from '../util/read.js';

export interface ArtifactStore {
  /** `redis` or `dir:/path`: what job data carries so a worker opens the same store. */
  readonly spec: string;
  /** Stores bytes; returns their sha256 (storing the same bytes again is a no-op). */
  put(bytes: Uint8Array): Promise<string>;
  /** The bytes of `sha`, verified; a missing or damaged artifact is an error naming it. */
  get(sha: string): Promise<Uint8Array>;
  has(sha: string): Promise<boolean>;
}

/** Redis holds artifacts up to this size; larger models belong on a shared directory. */
export const REDIS_ARTIFACT_LIMIT = 256 << 20;

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const SHA = /^[0-9a-f]{64}$/;

function checkSha(sha: string): void {
  if (!SHA.test(sha)) throw new Error(`artifact id '${sha}' is not a sha256`);
}

function verified(sha: string, bytes: Uint8Array, where: string): Uint8Array {
  const got = sha256(bytes);
  if (got !== sha)
    throw new Error(`artifact ${sha.slice(0, 12)}… in ${where} is damaged: its ${bytes.length} bytes hash to ${got.slice(0, 12)}…`);
  return bytes;
}

/** A directory shared by every machine (NFS, a cluster file system): <root>/<sha[0:2]>/<sha>. */
export class DirStore implements ArtifactStore {
  readonly spec: string;
  constructor(readonly root: string) {
    this.spec = `dir:${root}`;
  }
  private file(sha: string): string {
    checkSha(sha);
    return path.join(this.root, sha.slice(0, 2), sha);
  }
  async put(bytes: Uint8Array): Promise<string> {
    const sha = sha256(bytes);
    const f = this.file(sha);
    // Written under a temporary name and renamed: a reader never sees half an artifact.
    if (!existsSync(f) || statSync(f).size !== bytes.length) writeFileAtomic(f, bytes);
    return sha;
  }
  async get(sha: string): Promise<Uint8Array> {
    const f = this.file(sha);
    if (!existsSync(f)) throw new Error(`artifact ${sha.slice(0, 12)}… is not in ${this.root}`);
    return verified(sha, readInputFile(f, 'artifact', { maxBytes: 2 ** 31 - 1 }), this.root);
  }
  async has(sha: string): Promise<boolean> {
    return existsSync(this.file(sha));
  }
}

/** Artifacts as Redis strings (key lowbit:artifact:<sha>), on the queue's own server. */
export class RedisStore implements ArtifactStore {
  readonly spec = 'redis';
  constructor(private readonly redis: Redis) {}
  async put(bytes: Uint8Array): Promise<string> {
    if (bytes.length > REDIS_ARTIFACT_LIMIT)
      throw new Error(
        `an artifact of ${(bytes.length / 2 ** 20).toFixed(0)} MiB is too large for the Redis store (limit ${REDIS_ARTIFACT_LIMIT >> 20} MiB); use --store dir:<shared folder>`,
      );
    const sha = sha256(bytes);
    // Asked first: an input shared by many jobs is sent once, not once per submission.
    if (!(await this.has(sha)))
      await this.redis.set(`lowbit:artifact:${sha}`, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 'NX');
    return sha;
  }
  async get(sha: string): Promise<Uint8Array> {
    checkSha(sha);
    const b = await this.redis.getBuffer(`lowbit:artifact:${sha}`);
    if (!b) throw new Error(`artifact ${sha.slice(0, 12)}… is not in the Redis store`);
    return verified(sha, b, 'the Redis store');
  }
  async has(sha: string): Promise<boolean> {
    checkSha(sha);
    return (await this.redis.exists(`lowbit:artifact:${sha}`)) === 1;
  }
}

/** Opens the store a job names: `redis` (the queue's server) or `dir:/path`. */
export function openStore(spec: string, redis: Redis): ArtifactStore {
  if (spec === 'redis') return new RedisStore(redis);
  if (spec.startsWith('dir:') && spec.length > 4) {
    const root = path.resolve(spec.slice(4));
    return new DirStore(root);
  }
  throw new Error(`--store ${spec}: expected redis or dir:<shared folder>`);
}

/** Stores a file; returns its sha256. */
export async function putFile(store: ArtifactStore, file: string): Promise<string> {
  return store.put(readInputFile(file, 'artifact', { maxBytes: 2 ** 31 - 1 }));
}

/**
 * Makes `dest` a copy of artifact `sha`, through the local cache `cacheDir` (null: none): a cached copy is
 * verified before use (and fetched again if damaged); a fetched one is verified, then cached.
 * Returns whether the store was asked.
 */
export async function fetchFile(store: ArtifactStore, sha: string, dest: string, cacheDir: string | null): Promise<{ fetched: boolean }> {
  checkSha(sha);
  // No cache (the coordinator gathering results it will not fetch again): straight to dest.
  if (cacheDir === null) {
    writeFileAtomic(dest, await store.get(sha));
    return { fetched: true };
  }
  const cached = path.join(cacheDir, sha);
  let bytes: Uint8Array | null = existsSync(cached) ? readFileSync(cached) : null;
  let fetched = false;
  if (!bytes || sha256(bytes) !== sha) {
    bytes = await store.get(sha);
    writeFileAtomic(cached, bytes);
    fetched = true;
  }
  writeFileAtomic(dest, bytes);
  return { fetched };
}
