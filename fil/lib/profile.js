// profile.js — a flat statistical profile of the emulated chip: the PCs Machine.sample()
// recorded, mapped to the image's functions (arm-none-eabi-nm of the ELF the UF2 came from).
import { execFileSync } from 'node:child_process';

/** The ELF's functions as sorted [start, end, name] (Thumb bit cleared). */
export function loadSymbols(elf) {
  return execFileSync('arm-none-eabi-nm', ['-n', '-S', '--defined-only', elf], { encoding: 'utf8' })
    .split('\n').map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 4 && /^[tTwW]$/.test(f[2]))
    .map(([a, size, , name]) => { const s = parseInt(a, 16) & ~1; return [s, s + parseInt(size, 16), name]; });
}

/** The function holding pc, '(boot ROM)' below 0x4000, else '(0x...)' (code without a size). */
export function nameOf(syms, pc) {
  let lo = 0, hi = syms.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid][0] <= pc) lo = mid + 1; else hi = mid - 1;
  }
  const s = syms[hi];
  if (s && pc < s[1]) return s[2];
  return pc < 0x4000 ? '(boot ROM)' : `(0x${pc.toString(16)})`;
}

/** Samples of one core ([pc, core, ...] from Machine.takeSamples()) counted per function:
 *  { total, rows: [[name, count], ...] by count, largest first }. */
export function flatProfile(samples, syms, core) {
  const count = new Map();
  let total = 0;
  for (let i = 0; i < samples.length; i += 2) {
    if (samples[i + 1] !== core) continue;
    const f = nameOf(syms, samples[i]);
    count.set(f, (count.get(f) || 0) + 1);
    total++;
  }
  return { total, rows: [...count].sort((a, b) => b[1] - a[1]) };
}
