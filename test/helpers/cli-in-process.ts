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
