#!/usr/bin/env node
// The lowbit CLI entry point (compiled sources live in dist/).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
