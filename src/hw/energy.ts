// Energy of the operations the accelerator model counts, from an energy table (pJ).
import type { EnergyTable } from './config.js';

/** A b×b-bit integer multiply. */
export function intMultPj(t: EnergyTable, bits: number): number {
  return t.intMult.a * bits * bits + t.intMult.b * bits;
}

/** A b-bit integer add. */
export function intAddPj(t: EnergyTable, bits: number): number {
  return t.intAdd.perBit * bits;
}

/** One bit read from or written to an SRAM of `kb` kilobytes (log-log interpolation of the table's points). */
export function sramPjPerBit(t: EnergyTable, kb: number): number {
  const p = t.sram.points;
  const per64 = (() => {
    if (p.length === 1) return p[0].pjPer64Bits;
    let i = 0;
    while (i < p.length - 2 && kb > p[i + 1].kb) i++;
    const a = p[i],
      b = p[i + 1];
    const f = (Math.log(kb) - Math.log(a.kb)) / (Math.log(b.kb) - Math.log(a.kb));
    return Math.exp(Math.log(a.pjPer64Bits) + f * (Math.log(b.pjPer64Bits) - Math.log(a.pjPer64Bits)));
  })();
  return per64 / 64;
}

export function dramPjPerBit(t: EnergyTable): number {
  return t.dram.pjPerBit;
}
