// The prose of the generated docs lives in Markdown templates (experiments/templates/<renderer>.md),
// not in TypeScript strings: each template file holds named blocks,
//
//   <!-- block-name -->
//   Text with {{slots}} filled from the records.
//
// and a renderer asks for a block with the values of its slots. A slot without a value, a value
// without a slot, or an unknown block is an error, so a template and its renderer cannot drift apart
// silently.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The templates live in the source tree (experiments/templates/), also when run from dist/. */
const dir = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', '..') : path.resolve(here, '..');
  return path.join(root, 'experiments', 'templates');
})();

const HEADER = /^<!-- ([a-z0-9-]+) -->$/;

/** The blocks of a template file, by name (text without its trailing blank lines). */
export function parseTemplate(text: string, file: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let name: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    if (name === null) return;
    if (blocks.has(name)) throw new Error(`${file}: block ${name} is defined twice`);
    blocks.set(name, lines.join('\n').replace(/\n+$/, ''));
  };
  for (const line of text.split('\n')) {
    const m = HEADER.exec(line);
    if (m) {
      flush();
      name = m[1];
      lines = [];
    } else if (name !== null) lines.push(line);
    else if (line.trim() !== '') throw new Error(`${file}: text before the first block: ${JSON.stringify(line.slice(0, 60))}`);
  }
  flush();
  return blocks;
}

export type Slots = Record<string, unknown>;

/** Fills a block's {{slots}}; every slot needs a value and every value a slot. */
export function fill(block: string, name: string, slots: Slots = {}): string {
  const used = new Set<string>();
  const out = block.replace(/\{\{([A-Za-z0-9_]+)\}\}/g, (_, k: string) => {
    if (!Object.prototype.hasOwnProperty.call(slots, k)) throw new Error(`template block ${name}: no value for {{${k}}}`);
    used.add(k);
    const v = slots[k];
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new Error(`template block ${name}: {{${k}}} is ${v === null ? 'null' : typeof v}`);
    return String(v);
  });
  const unused = Object.keys(slots).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`template block ${name}: values without a slot: ${unused.join(', ')}`);
  return out;
}

/** The blocks of experiments/templates/<file>.md, as a function of block name and slot values. */
export function prose(file: string): (name: string, slots?: Slots) => string {
  let blocks: Map<string, string> | null = null;
  return (name, slots) => {
    const f = path.join(dir, `${file}.md`);
    blocks ??= parseTemplate(readFileSync(f, 'utf8'), f);
    const b = blocks.get(name);
    if (b === undefined) throw new Error(`${f}: no block ${name}`);
    return fill(b, name, slots);
  };
}
