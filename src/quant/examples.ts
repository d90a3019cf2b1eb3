// Example specs of a format for the conformance suites (FormatDef.examples), written compactly: the
// format name once, then the fields of each variant.
export const specs = (format: string, variants: Record<string, unknown>[]): unknown[] => variants.map((v) => ({ format, ...v }));
