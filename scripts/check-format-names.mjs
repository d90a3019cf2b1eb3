#!/usr/bin/env node
// "Declared once": no code outside src/quant/ decides anything by comparing a number format's
// name. Such a comparison is a second description of the format, which a new format silently
// misses; the fact belongs in the format's definition (src/quant/<format>.ts) instead.
// Usage: node scripts/check-format-names.mjs [root]   (exit 1 and one line per offence)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const names = 'int|binary|ternary|po2|lsq|pact|esb|dybit|mpq';
const patterns = [
  // spec.format === 'int', format !== 'dybit', …
  new RegExp(`\\bformat\\b[\\w.?)]*\\s*[!=]==?\\s*'(${names})'`),
  new RegExp(`'(${names})'\\s*[!=]==?\\s*[\\w.?(]*\\bformat\\b`),
  // ['int', 'po2', …].includes(…): a hand-kept list of formats.
  new RegExp(`\\[\\s*'(${names})'\\s*,\\s*'(${names})'[^\\]]*\\]\\s*\\.includes`),
];

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const src = path.join(root, 'src');
const offences = [];
for (const f of files(src)) {
  if (f.startsWith(path.join(src, 'quant') + path.sep)) continue;
  readFileSync(f, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim().startsWith('//')) return;
      if (patterns.some((re) => re.test(line))) offences.push(`${path.relative(root, f)}:${i + 1}: ${line.trim()}`);
    });
}
for (const o of offences) console.error(`format name compared outside src/quant/ (declare it in the format's definition): ${o}`);
process.exit(offences.length ? 1 : 0);
