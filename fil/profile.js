// profile.js — where the emulated RP2040 spends its cycles during one operation: a flat,
// statistical profile (each core's PC recorded once every N of its cycles, mapped to the
// image's functions with arm-none-eabi-nm).
//
//   node profile.js [--op rsa1024|rsa2048|p256|p256sign] [--every N] [--top N] [--seed N]
//                   [--elf build/rp2040/pico_hsm.elf]
//
// The ELF must be the one the UF2 (PICO_HSM_UF2, default build/rp2040/pico_hsm.uf2) was made
// from. Exclusive counts only: a function's callees are counted separately.
import path from 'node:path';
import * as h from './lib/hsm.js';
import { loadSymbols, flatProfile } from './lib/profile.js';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const OP = opt('--op', 'rsa1024');
const EVERY = Number(opt('--every', 1000));
const TOP = Number(opt('--top', 25));
const SEED = Number(opt('--seed', 0x1234567));
const ELF = opt('--elf', path.join(path.dirname(h.DEFAULT_UF2), 'pico_hsm.elf'));

const syms = loadSymbols(ELF);

const d = h.boot({ seed: SEED });
const must = (r, what) => { if (r.sw !== 0x9000) throw new Error(`${what}: SW ${r.sw.toString(16)}`); return r; };
must(d.reader.apdu(h.select()), 'SELECT');
must(d.reader.apdu(h.initialize()), 'INITIALIZE');
must(d.reader.apdu(h.verify()), 'VERIFY');
const ops = {
  rsa1024: () => h.generateRSA(2, 1024),
  rsa2048: () => h.generateRSA(3, 2048),
  p256: () => h.generateEC(1, 'P256'),
};
if (OP === 'p256sign') must(d.reader.apdu(h.generateEC(1, 'P256')), 'generate P-256');
const apdu = OP === 'p256sign' ? h.sign(1, h.ALG_ECDSA_SHA256, Buffer.from('profile')) : ops[OP]?.();
if (!apdu) throw new Error(`unknown --op ${OP}`);

d.m.sample(EVERY);
const r = must(d.reader.apdu(apdu), OP);
const samples = d.m.takeSamples();
d.m.sample(0);

const { total: n, rows } = flatProfile(samples, syms, 1); // the card runs on core 1; core 0 answers USB
console.log(`${OP}: ${r.cycles.toLocaleString('en')} cycles (${h.seconds(r.cycles).toFixed(3)} s at 125 MHz); core 1, one sample per ${EVERY} cycles, ${n} samples`);
console.log('| function | share | ~cycles |');
console.log('|---|---:|---:|');
for (const [f, c] of rows.slice(0, TOP)) {
  console.log(`| ${f} | ${(100 * c / n).toFixed(1)} % | ${(c * EVERY).toLocaleString('en')} |`);
}
