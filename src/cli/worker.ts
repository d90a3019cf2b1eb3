// `lowbit worker --queue redis://host:port/db`: a worker of distributed searches and experiment
// sweeps. It runs until SIGTERM or SIGINT; then the job it holds goes back to the queue (its last
// finished epoch is in the artifact store) and it exits.
import { Command } from 'commander';
import { initEngine } from '../engine/setup.js';
import { checkReachable, parseQueueUrl } from '../queue/redis-url.js';
import { startWorker } from '../queue/worker.js';
import { positiveInt } from './options.js';

interface WorkerFlags {
  queue: string;
  threads?: number;
  concurrency: number;
  dataDir?: string;
  workDir?: string;
  quiet?: boolean;
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run retraining jobs (search points, experiment rows) from a job queue until stopped')
    .requiredOption('--queue <url>', 'the queue: redis://host:port/db')
    .option('--threads <n>', 'native threads per job (default: all cores); jobs are routed by thread count', positiveInt)
    .option('--concurrency <n>', 'jobs at once', positiveInt, 1)
    .option('--data-dir <dir>', 'directory holding the dataset files on this machine')
    .option('--work-dir <dir>', 'where running jobs keep their files (default: ~/.cache/lowbit/work)')
    .option('--quiet', 'no status lines')
    .action(async (f: WorkerFlags) => {
      const address = parseQueueUrl(f.queue);
      await checkReachable(address);
      const engine = await initEngine({ quiet: true, ...(f.threads ? { threads: f.threads } : {}) });
      const say = (line: string) => {
        if (!f.quiet) process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
      };
      const w = await startWorker({
        address,
        threads: engine.threads,
        concurrency: f.concurrency,
        ...(f.dataDir ? { dataDir: f.dataDir } : {}),
        ...(f.workDir ? { workRoot: f.workDir } : {}),
        onStatus: say,
      });
      const stop = (sig: string) => {
        say(`${sig}: stopping (a running job goes back to the queue)`);
        void w.stop();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      await w.closed;
      say(`worker ${w.name} stopped`);
    });
}
