// `--queue redis://[user:password@]host:port[/db]`: where the job queue (BullMQ on Redis) lives.
import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';

export interface QueueAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** The URL without its password, for progress lines and errors. */
  display: string;
}

/** Parses a queue URL; every mistake is one line saying what was expected. */
export function parseQueueUrl(text: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`--queue ${text}: not a URL; expected redis://host:port/db`);
  }
  if (u.protocol !== 'redis:')
    throw new Error(`--queue ${text}: the scheme is ${u.protocol.replace(':', '')}; expected redis://host:port/db`);
  if (!u.hostname) throw new Error(`--queue ${text}: the host is missing; expected redis://host:port/db`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new Error(`--queue ${text}: database '${dbText}' is not 0..15`);
  if (u.search || u.hash) throw new Error(`--queue ${text}: unexpected '${u.search || u.hash}'; expected redis://host:port/db`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    display: `redis://${u.username ? `${u.username}@` : ''}${u.host}/${db}`,
  };
}

/**
 * ioredis options for BullMQ: commands wait for a reconnect instead of failing (BullMQ requires
 * maxRetriesPerRequest null for workers), and reconnects back off up to 2 s, forever, so a Redis
 * restart is a pause, not an error.
 */
export function redisOptions(a: QueueAddress): RedisOptions {
  return {
    host: a.host,
    port: a.port,
    db: a.db,
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: a.password } : {}),
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/** The same options as BullMQ's connection type (its own declaration of ioredis' options). */
export function bullConnection(a: QueueAddress): ConnectionOptions {
  return redisOptions(a) as ConnectionOptions;
}

/**
 * Fails in one line when the queue's Redis cannot be reached now (a wrong host or port would
 * otherwise leave a worker or coordinator retrying silently forever). Later outages are waited out.
 */
export async function checkReachable(a: QueueAddress, timeoutMs = 5000): Promise<void> {
  const probe = new Redis({
    ...redisOptions(a),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
  });
  let cause: NodeJS.ErrnoException | null = null;
  probe.on('error', (e: NodeJS.ErrnoException) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than ioredis' "Connection is closed".
    const err = (cause ?? e) as NodeJS.ErrnoException;
    const why = err.code ?? err.message;
    throw new Error(`--queue ${a.display}: cannot reach Redis (${why}); is redis-server running there, and is the address right?`);
  } finally {
    probe.disconnect();
  }
}
