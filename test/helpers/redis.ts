// A Redis server of a test's own: redis-server (Debian's, installed by scripts/install.sh) on
// 127.0.0.1 at a free port, with its data in a temporary folder (append-only file on, so that a
// restart keeps what was written, as a production Redis would be configured), stopped afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { tmpDir } from './fixtures.js';

export interface TestRedis {
  port: number;
  url: string;
  /** Shuts the server down (its append-only file is written) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('error', () => resolve(false));
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => {
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = tmpDir('lowbit-redis-');
  let proc: ChildProcess | null = null;
  const launch = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], {
      stdio: 'ignore',
    });
    const failed = new Promise<never>((_, reject) => {
      proc!.once('error', (e) => reject(new Error(`redis-server could not start (${e.message}); scripts/install.sh installs it`)));
    });
    for (let i = 0; i < 100; i++) {
      if (await Promise.race([answers(port), failed])) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${port}`);
  };
  const halt = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    restart: async () => {
      await halt();
      await launch();
    },
    stop: halt,
  };
}
