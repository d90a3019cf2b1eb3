// lowbit's version, read once from its package.json (the CLI's --version and queue job ids use it).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

export function packageVersion(): string {
  if (cached) return cached;
  // src/util (tsx) or dist/src/util (compiled): the package.json is the first one above.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lowbit' && pkg.version) return (cached = pkg.version);
    } catch {
      // not here: one level up
    }
  }
  throw new Error('lowbit: cannot find its package.json');
}
