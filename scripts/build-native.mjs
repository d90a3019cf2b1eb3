#!/usr/bin/env node
// Builds the native addon with node-gyp against the headers of the running Node, offline.
// If the build fails (no compiler, no libdnnl-dev), lowbit still works on plain tfjs and says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// Node's own headers (Debian installs them under /usr/include/node): no header download.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const env = { ...process.env };
if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const jobs = String(Math.max(1, (await import('node:os')).cpus().length));
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--jobs=${jobs}`, `--directory=${path.join(root, 'native')}`], {
  env,
  stdio: 'inherit',
});
if (r.status !== 0) {
  const strict = process.env.LOWBIT_REQUIRE_NATIVE === '1';
  console.error(
    `lowbit: native addon build failed (exit ${r.status}); ${strict ? 'LOWBIT_REQUIRE_NATIVE=1, giving up' : 'lowbit will run on plain tfjs (slow)'}. ` +
      'Install g++, libdnnl-dev and libopenblas-dev (scripts/install.sh does) and run `npm run build:native`.',
  );
  process.exit(strict ? 1 : 0);
}
