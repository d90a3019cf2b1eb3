// The CLI's name for each library option key, so that a library error naming an option
// (OptionError, util/option-error.ts) reaches a CLI user as the flag they typed.
import { OptionError } from '../util/option-error.js';

/** Keys whose flag is not their kebab-case form. */
const SPECIAL: Record<string, string> = { outDir: '--out', activationFormat: '--aformat', foldBatchNorm: '--fold-bn' };

export function flagOf(key: string): string {
  return SPECIAL[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** An error's message as a CLI user should read it: options named by their flags. */
export function cliMessage(e: Error): string {
  return e instanceof OptionError ? e.renamed(flagOf) : e.message;
}
