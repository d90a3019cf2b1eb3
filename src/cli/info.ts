// `lowbit info`: which engine is active (native kernels, threads), for bug reports and setup checks.
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';

export function infoCommand(): Command {
  return new Command('info').description('show the engine in use (native kernels, oneDNN version, threads)').action(async () => {
    const e = await initEngine({ quiet: true });
    console.log(JSON.stringify({ ...e, node: process.version }));
  });
}
