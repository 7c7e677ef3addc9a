// bench.js — cycles per key operation in the emulated RP2040 (make bench-device).
//
//   node bench.js [--runs N] [--keygen-runs N] [--rsa2048-keygen-runs N] [--only row,row] [--seed N]
//
// One chip: boot, INITIALIZE, VERIFY, then each operation N times; each row shows the median
// and the spread (min..max) of the cycles between the XfrBlock leaving the host and its answer
// arriving, and the median in seconds at 125 MHz, beside the reference firmware's published
// figures. Memory is zero-wait in rp2040js, so the cycles are a lower bound for the chip. The
// ring oscillator is a seeded generator here (deterministic, not entropy): RSA keygen times vary
// run to run only because the DRBG output does.
import crypto from 'node:crypto';
import * as h from './lib/hsm.js';

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const RUNS = Number(opt('--runs', 5));
const KEYGEN_RUNS = Number(opt('--keygen-runs', 5));
const RSA2048_KEYGEN_RUNS = Number(opt('--rsa2048-keygen-runs', 3));
const only = opt('--only', '').split(',').filter(Boolean);
const SEED = Number(opt('--seed', 0x1234567)); // the emulated ROSC's generator

const d = h.boot({ seed: SEED });
const must = (r, what) => { if (r.sw !== 0x9000) throw new Error(`${what}: SW ${r.sw.toString(16)}`); return r; };
must(d.reader.apdu(h.select()), 'SELECT');
must(d.reader.apdu(h.initialize({ dkekShares: 1 })), 'INITIALIZE');
must(d.reader.apdu(h.verify()), 'VERIFY');
must(d.reader.apdu(h.importDkekShare(crypto.randomBytes(32))), 'IMPORT DKEK SHARE');

const rows = [];
const header = '| operation | runs | median cycles | spread (min..max) | median s @125 MHz | reference firmware |';
console.log(header);
console.log('|---|---:|---:|---:|---:|---:|');
function row(name, ref, n, fn) {
  if ((only.length && !only.includes(name)) || n <= 0) return;
  const cyc = [];
  for (let i = 0; i < n; i++) cyc.push(fn(i));
  cyc.sort((a, b) => a - b);
  const med = cyc.length % 2 ? cyc[(cyc.length - 1) / 2] : Math.round((cyc[cyc.length / 2 - 1] + cyc[cyc.length / 2]) / 2);
  const r = `| ${name} | ${n} | ${med.toLocaleString('en')} | ${cyc[0].toLocaleString('en')}..${cyc[cyc.length - 1].toLocaleString('en')} | ${h.seconds(med).toFixed(3)} | ${ref} |`;
  rows.push(r);
  console.log(r);
}

const msg = Buffer.from('bench-device');
function genKey(id, curveOrBits) {
  const r = must(d.reader.apdu(typeof curveOrBits === 'string' ? h.generateEC(id, curveOrBits) : h.generateRSA(id, curveOrBits)),
    `generate ${curveOrBits}`);
  return { cycles: r.cycles, pub: h.publicKeyOf(Buffer.from(r.data), typeof curveOrBits === 'string' ? curveOrBits : undefined) };
}
function signRow(id, alg, pub, kind) {
  const r = must(d.reader.apdu(h.sign(id, alg, msg)), 'sign');
  const ok = kind === 'rsa'
    ? crypto.verify('sha256', msg, { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.from(r.data))
    : crypto.verify('sha256', msg, pub, Buffer.from(r.data));
  if (!ok) throw new Error('signature does not verify');
  return r.cycles;
}

const keys = {};
const want = (name) => !only.length || only.includes(name);
row('P-256 keygen', '-', RUNS, () => { const k = genKey(1, 'P256'); keys.p256 = k.pub; return k.cycles; });
if (!keys.p256 && want('P-256 sign (ECDSA-SHA256)')) keys.p256 = genKey(1, 'P256').pub;
row('P-256 sign (ECDSA-SHA256)', '-', RUNS, () => signRow(1, h.ALG_ECDSA_SHA256, keys.p256));
if (want('P-384 sign (ECDSA-SHA256)')) keys.p384 = genKey(4, 'P384').pub;
row('P-384 sign (ECDSA-SHA256)', '-', RUNS, () => signRow(4, h.ALG_ECDSA_SHA256, keys.p384));
// RSA: the first key generated is the one that signs, and counts as the first keygen sample;
// every sample is also printed to stderr as it is measured (a keygen takes minutes here).
for (const [bits, id, ref] of [[1024, 2, ['16 s', '1 s']], [2048, 3, ['124 s', '3 s']]]) {
  const kg = `RSA-${bits} keygen`, sg = `RSA-${bits} sign (PKCS#1 v1.5 SHA-256)`;
  const runs = bits === 2048 ? RSA2048_KEYGEN_RUNS : KEYGEN_RUNS;
  const samples = [];
  let pub = null;
  if ((want(kg) && runs > 0) || want(sg)) {
    const k = genKey(id, bits);
    pub = k.pub;
    samples.push(k.cycles);
    console.error(`${kg} sample 1: ${k.cycles} cycles`);
  }
  keys[`rsa${bits}`] = pub;
  if (pub) row(sg, ref[1], RUNS, () => { const c = signRow(id, h.ALG_RSA_PKCS1_SHA256, pub, 'rsa'); console.error(`${sg}: ${c} cycles`); return c; });
  row(kg, ref[0], runs, (i) => {
    if (i < samples.length) return samples[i];
    const c = genKey(id + 8, bits).cycles;
    console.error(`${kg} sample ${i + 1}: ${c} cycles`);
    return c;
  });
}
// UNWRAP of the RSA-2048 key as WRAP writes it (type 05: d, n, e), so the card recovers p and q
// (firmware/core/src/rsa_factor.c); every unwrapped key signs, checked, before its sample counts.
const unwrapRow = 'RSA-2048 UNWRAP (type 05 blob)'; // no comma: --only splits on them
if (want(unwrapRow) && RUNS > 0) {
  if (!keys.rsa2048) keys.rsa2048 = genKey(3, 2048).pub;
  const blob = Buffer.from(must(d.reader.apdu(h.wrapKey(3)), 'WRAP').data);
  row(unwrapRow, '-', RUNS, (i) => {
    const r = must(d.reader.apdu(h.unwrapKey(0x20 + i, blob)), 'UNWRAP');
    signRow(0x20 + i, h.ALG_RSA_PKCS1_SHA256, keys.rsa2048, 'rsa');
    console.error(`${unwrapRow}: ${r.cycles} cycles`);
    return r.cycles;
  });
}
// AES-256-GCM of 1 KiB: the key never leaves the device, so each encryption is checked by
// decrypting it on the device again (ciphertext || 16-byte tag).
if (want('AES-256-GCM encrypt 1 KiB')) must(d.reader.apdu(h.generateAES(5, 256)), 'generate AES-256');
row('AES-256-GCM encrypt 1 KiB', '-', RUNS, () => {
  const plain = crypto.randomBytes(1024), iv = crypto.randomBytes(12);
  const enc = must(d.reader.apdu(h.aesGCM(5, true, plain, iv)), 'AES-GCM encrypt');
  const dec = must(d.reader.apdu(h.aesGCM(5, false, Buffer.from(enc.data), iv)), 'AES-GCM decrypt');
  if (enc.data.length !== 1024 + 16 || !Buffer.from(dec.data).equals(plain)) throw new Error('AES-GCM round trip');
  return enc.cycles;
});
console.log(`\ntime extensions: ${d.reader.timeExtensions}; total ${d.m.cycles.toLocaleString('en')} cycles`);
