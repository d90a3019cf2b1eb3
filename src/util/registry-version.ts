// One counter for every registry that can grow at run time (methods, number formats): caches built
// from a registry (the quantize options schema, the CLI's flags and choices) key on it and are
// built again when anything is registered.
let version = 0;

export function registryVersion(): number {
  return version;
}

export function bumpRegistryVersion(): void {
  version++;
}
