#!/usr/bin/env node
// Fails on any string or template literal longer than 200 characters in src/ or experiments/:
// prose belongs in Markdown templates (experiments/templates/) and messages stay short.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Usage: node scripts/check-long-strings.mjs [root]
const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const LIMIT = 200;
const files = [];
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = path.join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
};
for (const d of ['src', 'experiments']) if (existsSync(path.join(root, d))) walk(path.join(root, d));
const found = [];
for (const f of files) {
  const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) {
      const len = n.getText(sf).length - 2;
      if (len > LIMIT) {
        const { line } = sf.getLineAndCharacterOfPosition(n.getStart(sf));
        found.push(`${path.relative(root, f)}:${line + 1}: a literal of ${len} characters`);
        return;
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
if (found.length) {
  console.error(
    `${found.length} string literals over ${LIMIT} characters (move prose to a Markdown template, shorten messages):\n${found.join('\n')}`,
  );
  process.exit(1);
}
