// The `lowbit` command line: one subcommand per pipeline stage. Errors print one line
// (set LOWBIT_DEBUG=1 for the stack) and exit with status 1.
import { Command, CommanderError } from 'commander';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { trainCommand } from './train.js';
import { importCommand } from './import.js';
import { infoCommand } from './info.js';
import { quantizeCommand } from './quantize.js';
import { formatsCommand } from './formats.js';
import { simulateCommand } from './simulate.js';
import { searchCommand } from './search.js';
import { packCommand } from './pack.js';
import { runCommand } from './run.js';
import { exportCommand } from './export.js';
import { reportCommand } from './report.js';
import { checkpointCommand } from './checkpoint.js';
import { workerCommand } from './worker.js';
import { cliMessage } from './flag-names.js';
import { packageVersion } from '../util/version.js';

/** Whether commander has printed an error itself (a CommanderError raised in an action has not). */
let commanderReported = false;
const output = {
  writeErr: (s: string) => {
    commanderReported = true;
    process.stderr.write(s);
  },
};

/** A command and its subcommands print through `output` and throw instead of exiting. */
function configured(c: Command): Command {
  c.configureOutput(output).exitOverride();
  for (const sub of c.commands) configured(sub);
  return c;
}

export function buildProgram(): Command {
  const program = new Command('lowbit')
    .description('low-bit neural networks: train, quantize, search, simulate, pack, run')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput(output)
    .exitOverride();
  for (const c of [
    trainCommand(),
    importCommand(),
    quantizeCommand(),
    formatsCommand(),
    searchCommand(),
    workerCommand(),
    simulateCommand(),
    packCommand(),
    runCommand(),
    exportCommand(),
    reportCommand(),
    checkpointCommand(),
    dataCommand(),
    demoCommand(),
    infoCommand(),
  ])
    program.addCommand(configured(c));
  return program;
}

/** A flag given together with its own negation (`--augment --no-augment`) cannot mean what it says. */
export function contradictoryFlags(argv: string[]): string | null {
  const flags = new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
  for (const f of flags) if (f.startsWith('--no-') && flags.has(`--${f.slice(5)}`)) return `--${f.slice(5)} and ${f} contradict each other`;
  return null;
}

export async function main(argv: string[]): Promise<number> {
  commanderReported = false;
  try {
    const clash = contradictoryFlags(argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length));
    if (clash) throw new Error(clash);
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError && (commanderReported || e.exitCode === 0)) return e.exitCode;
    const err = e as Error;
    process.stderr.write(`lowbit: ${cliMessage(err)}\n`);
    if (process.env.LOWBIT_DEBUG === '1') process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
