// One writer per directory: an exclusive lock file created with O_EXCL, holding the writer's
// PID, host and command. A second writer is refused with one line naming the holder. A lock
// whose process is gone (same host, PID no longer running: a kill -9) is stale and taken over;
// a lock held on another host cannot be checked from here and is reported, never broken.
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeErrno } from './read.js';

export const LOCK_FILE = '.lowbit.lock';

interface Holder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

export interface DirLock {
  file: string;
  release(): void;
}

const held = new Set<string>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Holder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

function tryCreate(file: string, me: Holder): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new Error(`cannot write in ${path.dirname(file)}: ${describeErrno(code)}`);
  }
  try {
    writeSync(fd, JSON.stringify(me));
  } catch (e) {
    // A full disk: no half-written lock is left behind.
    closeSync(fd);
    rmSync(file, { force: true });
    throw new Error(`cannot write in ${path.dirname(file)}: ${describeErrno((e as NodeJS.ErrnoException).code)}`);
  }
  closeSync(fd);
  return true;
}

/** Takes the directory's lock for `command`, or throws one line naming the process that holds it. */
export function lockDirectory(dir: string, command: string): DirLock {
  const file = path.join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: os.hostname(), command, startedAt: new Date().toISOString() };
  if (held.has(path.resolve(file))) throw new Error(`${dir} is already being written by this process`);
  for (let attempt = 0; !tryCreate(file, me); attempt++) {
    const h = readHolder(file);
    // Our own PID in a lock this process does not hold is a dead process's PID reused (containers reuse PIDs).
    const stale = h !== null && h.host === me.host && (h.pid === process.pid || !alive(h.pid));
    if (!stale || attempt > 2) {
      const who = h ? `${h.command} (pid ${h.pid} on ${h.host}, since ${h.startedAt})` : 'another process (unreadable lock)';
      throw new Error(
        `${dir} is being written by ${who}; wait for it to finish, or remove ${file} if that process is not lowbit${h && h.host !== me.host ? ' or its host is down' : ''}`,
      );
    }
    // Move the stale lock aside, then check it was the one we judged stale (a concurrent taker may have replaced it).
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    const moved = readHolder(aside);
    if (moved && moved.pid !== h.pid) renameSync(aside, file);
    else rmSync(aside, { force: true });
  }
  const key = path.resolve(file);
  held.add(key);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const f of held) rmSync(f, { force: true });
    });
  }
  return {
    file,
    release: () => {
      if (!held.delete(key)) return;
      const h = readHolder(file);
      if (h?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}
