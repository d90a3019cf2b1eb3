// Errors about the options a library function was given name those options by their keys in the
// library's own terms (`outDir`, `resume`); a front end renames them to what its user typed. The
// message is a template whose ‹key› tokens (written with opt(), marks no path or value contains) are
// option names: the library shows the keys, and the CLI shows its flags (`--out`, `--resume`)
// through renamed().
const TOKEN = /‹([a-z][A-Za-z0-9]*)›/g;

export class OptionError extends Error {
  readonly template: string;

  constructor(template: string) {
    super(template.replace(TOKEN, (_, k: string) => k));
    this.template = template;
  }

  /** The options the message names. */
  get options(): string[] {
    return [...this.template.matchAll(TOKEN)].map((m) => m[1]);
  }

  /** The message with each option named as `rename` says (a key it does not know keeps its own name). */
  renamed(rename: (key: string) => string | undefined): string {
    return this.template.replace(TOKEN, (_, k: string) => rename(k) ?? k);
  }
}

/** An option's name in an OptionError template. */
export const opt = (key: string): string => `‹${key}›`;
