// Runs the lowbit CLI inside the test's own process, so that what the test registered at run time
// (a toy method, a toy layer op) is there; returns the exit code and what it printed.
import { main } from '../../src/cli/main.js';

export async function cliInProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [],
    err: string[] = [];
  const log = console.log,
    write = process.stderr.write.bind(process.stderr),
    writeOut = process.stdout.write.bind(process.stdout);
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  // Help goes to stdout through commander's own writer.
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('') };
  } finally {
    console.log = log;
    process.stdout.write = writeOut;
    process.stderr.write = write;
  }
}

/**
 * A quantized run directory through the rest of the CLI, in this process: pack, run (against the
 * training simulation), both exports and simulate. Fails on the first command that does; returns
 * what `run --compare` printed.
 */
export async function deployInProcess(out: string, dataDir: string): Promise<string> {
  const file = `${out}/model.lowbit`;
  const commands = [
    ['pack', '--model', out, '--out', file],
    ['run', '--model', file, '--data-dir', dataDir, '--compare'],
    ['export', '--model', file, '--out', `${out}/model.onnx`],
    ['export', '--model', file, '--format', 'tfjs', '--out', `${out}/tfjs`],
    ['simulate', '--model', out, '--accel', 'bitfusion'],
  ];
  let printed = '';
  for (const args of commands) {
    const r = await cliInProcess(args);
    if (r.code !== 0) throw new Error(`lowbit ${args.join(' ')} failed: ${r.err}`);
    if (args[0] === 'run') printed = r.out;
  }
  return printed;
}
