// The native addon as the packed-model runtime sees it: the addon Node loaded (if any), whether
// native kernels are switched on (tests switch them off to compare), and each module's declared
// kernels bound to it. No tfjs and no Node built-ins here, so the runtime bundle (browsers, Web
// Workers) can import it; engine/state.ts adds the training engine's own condition on top.
import type { NativeAddon } from './native.js';

let addon: NativeAddon | null = null;
let enabled = true;

export function setActiveAddon(a: NativeAddon | null): void {
  addon = a;
}

/** Turns native kernels on or off at run time (the TypeScript paths and stock tfjs run when off). Returns the old value. */
export function setNativeKernels(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

export function nativeKernelsEnabled(): boolean {
  return enabled;
}

/** The loaded addon while native kernels are on, else null. */
export function activeAddon(): NativeAddon | null {
  return enabled ? addon : null;
}

/**
 * The addon's functions `names`, checked to exist (a stale build that lacks one is named, not
 * called), typed as the caller declared them.
 */
export function bindKernels<K extends object>(a: NativeAddon, names: readonly (keyof K & string)[]): K {
  const missing = names.filter((n) => typeof (a as unknown as Record<string, unknown>)[n] !== 'function');
  if (missing.length) throw new Error(`the native addon lacks ${missing.join(', ')}; rebuild it with \`npm run build:native\``);
  return a as unknown as K;
}

/**
 * A module's native kernels, declared where they are used: `kernels()` gives them on the active
 * addon (checked once per addon) while `gate` allows, or null.
 */
export function addonKernels<K extends object>(names: readonly (keyof K & string)[], gate: () => boolean = () => true): () => K | null {
  let bound: { addon: NativeAddon; kernels: K } | null = null;
  return () => {
    const a = activeAddon();
    if (!a || !gate()) return null;
    if (bound?.addon !== a) bound = { addon: a, kernels: bindKernels<K>(a, names) };
    return bound.kernels;
  };
}
