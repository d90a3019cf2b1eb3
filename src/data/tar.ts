// Reads named regular files out of a (decompressed) ustar archive. Only the members asked for
// are returned and member paths are never used to write files, so a hostile archive cannot
// write outside the target directory.

export function extractTarMembers(tar: Uint8Array, wanted: Set<string>, what: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let off = 0;
  const text = (a: number, n: number) =>
    Buffer.from(tar.subarray(a, a + n))
      .toString('latin1')
      .replace(/\0.*$/s, '');
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = text(off, 100);
    const prefix = text(off + 345, 155);
    const sizeField = text(off + 124, 12).trim();
    const size = parseInt(sizeField, 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`${what}: damaged tar header at byte ${off}`);
    const type = String.fromCharCode(header[156] || 48);
    const full = prefix ? `${prefix}/${name}` : name;
    const base = full.split('/').pop() ?? '';
    const dataStart = off + 512;
    if (dataStart + size > tar.length) throw new Error(`${what}: truncated archive (member ${full})`);
    if ((type === '0' || type === '\0') && wanted.has(base)) out.set(base, tar.slice(dataStart, dataStart + size));
    off = dataStart + Math.ceil(size / 512) * 512;
  }
  return out;
}
