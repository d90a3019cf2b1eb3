// Loads the native addon (native/build/Release/lowbit_native.node) if it was built.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the engine itself asks of the addon: threads and build information. Every kernel is declared
 * by the module that calls it, next to its use (an interface and a `nativeKernels` accessor, engine/
 * state.ts); typed arrays are read and written in place.
 */
export interface NativeAddon {
  setThreads(n: number): number;
  getThreads(): number;
  setBlasThreads(n: number): void;
  /** GEMM backend of matmul: OpenBLAS (true, the default) or oneDNN's sgemm (false). */
  useBlas(on: boolean): void;
  info(): { dnnl: string; threads: number; cores: number };
  convCacheSize(): number;
}

let cached: { addon: NativeAddon | null; error: string | null } | undefined;

/** Finds the package root by walking up from this file (works from src/ and dist/src/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'native'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The addon, or null with the reason (not built, disabled by LOWBIT_NATIVE=0, failed to load). */
export function loadNative(): { addon: NativeAddon | null; error: string | null } {
  if (cached) return cached;
  if (process.env.LOWBIT_NATIVE === '0') {
    cached = { addon: null, error: 'disabled by LOWBIT_NATIVE=0' };
    return cached;
  }
  // LOWBIT_NATIVE_PATH loads another build (e.g. one with AddressSanitizer, for debugging).
  const file = process.env.LOWBIT_NATIVE_PATH ?? path.join(packageRoot(), 'native', 'build', 'Release', 'lowbit_native.node');
  if (!existsSync(file)) {
    cached = { addon: null, error: `native addon not built (${file} missing; run \`npm run build:native\`)` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(file) as NativeAddon, error: null };
  } catch (e) {
    cached = { addon: null, error: `native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  return cached;
}
