#!/usr/bin/env node
// lowbit/runtime (src/runtime/index.ts) must load in browsers and Web Workers and stay small: no
// value import it reaches may name tfjs, a Node built-in or the protobuf encoder. Prints the chain
// to each offender. Usage: node scripts/check-runtime-imports.mjs [root]  (exit 1 on any)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const entry = path.join(root, 'src', 'runtime', 'index.ts');
const FORBIDDEN = [/^@tensorflow\//, /^node:/, /^protobufjs/, /^fs$|^path$|^url$|^module$|^os$|^child_process$/];
const parent = new Map([[entry, null]]);
const queue = [entry];
const bad = [];
const chain = (f) => {
  const c = [];
  for (let x = f; x; x = parent.get(x)) c.unshift(path.relative(root, x));
  return c.join(' -> ');
};
while (queue.length) {
  const f = queue.shift();
  const text = readFileSync(f, 'utf8');
  // Value imports and re-exports (`import type` and `export type` load nothing at run time), and bare imports.
  const specs = [
    ...[...text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\sfrom\s+'([^']+)'/gms)].map((m) => m[1]),
    ...[...text.matchAll(/^import\s+'([^']+)';/gm)].map((m) => m[1]),
  ];
  for (const spec of specs) {
    if (spec.startsWith('.')) {
      const t = path.resolve(path.dirname(f), spec).replace(/\.js$/, '.ts');
      if (existsSync(t) && !parent.has(t)) {
        parent.set(t, f);
        queue.push(t);
      }
    } else if (FORBIDDEN.some((re) => re.test(spec))) bad.push(`${spec} via ${chain(f)}`);
  }
}
if (bad.length) {
  console.error(`lowbit/runtime reaches ${bad.length} import(s) it must not (tfjs, Node built-ins, protobufjs):\n${bad.join('\n')}`);
  process.exit(1);
}
