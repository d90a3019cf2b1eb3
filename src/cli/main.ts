// The `lowbit` command line: one subcommand per pipeline stage. Errors print one line
// (set LOWBIT_DEBUG=1 for the stack) and exit with status 1.
import { Command, CommanderError } from 'commander';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { trainCommand } from './train.js';
import { infoCommand } from './info.js';
import { quantizeCommand } from './quantize.js';
import { formatsCommand } from './formats.js';
import { simulateCommand } from './simulate.js';
import { searchCommand } from './search.js';
import { packCommand } from './pack.js';
import { runCommand } from './run.js';
import { exportCommand } from './export.js';
import { reportCommand } from './report.js';

/** Whether commander has printed an error itself (a CommanderError raised in an action has not). */
let commanderReported = false;
const output = {
  writeErr: (s: string) => {
    commanderReported = true;
    process.stderr.write(s);
  },
};

export function buildProgram(): Command {
  const program = new Command('lowbit')
    .description('low-bit neural networks: train, quantize, search, simulate, pack, run')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput(output)
    .exitOverride();
  for (const c of [
    trainCommand(),
    quantizeCommand(),
    formatsCommand(),
    searchCommand(),
    simulateCommand(),
    packCommand(),
    runCommand(),
    exportCommand(),
    reportCommand(),
    dataCommand(),
    demoCommand(),
    infoCommand(),
  ])
    program.addCommand(c.configureOutput(output).exitOverride());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  commanderReported = false;
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError && (commanderReported || e.exitCode === 0)) return e.exitCode;
    const err = e as Error;
    process.stderr.write(`lowbit: ${err.message}\n`);
    if (process.env.LOWBIT_DEBUG === '1') process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
