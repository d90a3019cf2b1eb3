#!/usr/bin/env node
// No import cycles among the TypeScript sources (src/, experiments/, bench/), type-only imports
// included: a cycle means two files each need the other, so neither can be read, moved or loaded
// (the browser runtime) alone. Usage: node scripts/check-import-cycles.mjs [root]  (exit 1 per cycle found)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const files = (dir) =>
  readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

const edges = new Map();
for (const base of ['src', 'experiments', 'bench']) {
  let list;
  try {
    list = files(path.join(root, base));
  } catch {
    continue;
  }
  for (const f of list) {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) =>
      path.resolve(path.dirname(f), m[1]).replace(/\.js$/, '.ts'),
    );
    edges.set(f, deps);
  }
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const idx = new Map(),
  low = new Map(),
  stack = [],
  on = new Set(),
  cycles = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!edges.has(w)) continue;
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      comp.push(path.relative(root, w));
    } while (w !== v);
    if (comp.length > 1) cycles.push(comp.sort());
  }
}
for (const v of edges.keys()) if (!idx.has(v)) visit(v);
for (const c of cycles) console.error(`import cycle: ${c.join(' <-> ')}`);
process.exit(cycles.length ? 1 : 0);
