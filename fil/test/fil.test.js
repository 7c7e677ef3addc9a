// Firmware in the loop: our RP2040 image in rp2040js, driven as a USB CCID reader would.
// Boot, enumerate, SELECT, INITIALIZE, VERIFY, generate a P-256 key, sign, verify the signature
// with node's crypto, reset the chip keeping the flash, sign again with the persisted key.
// Cycle counts per APDU are printed (seconds at 125 MHz); emulated memory is zero-wait, so
// they are a lower bound for the real chip.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as h from '../lib/hsm.js';
import { loadSymbols, flatProfile } from '../lib/profile.js';

const report = (name, cycles) =>
  console.log(`${name.padEnd(22)} ${String(cycles).padStart(12)} cycles  ${h.seconds(cycles).toFixed(4)} s @125 MHz`);

function ok(r, what) {
  assert.equal(r.sw.toString(16), '9000', `${what}: SW ${r.sw.toString(16)}`);
  report(what, r.cycles);
  return r;
}

test('P-256 key survives a chip reset in the emulated RP2040', () => {
  const image = h.loadImage();
  const d = h.boot({ image });
  report('boot to USB configured', d.enumerated);

  // Descriptors: one CCID interface, its bulk pair and the interrupt endpoint.
  assert.equal(d.info.ccid.cls, 0x0b);
  assert.notEqual(d.info.intIn, -1);
  assert.equal(d.info.device[7], 64);
  // The USB serial string is the card's serial (ZZP + 8 base32 characters derived from the chip's
  // unique id, firmware/core/src/devid.c), the one pkcs15-tool shows.
  assert.match(d.info.strings.serial, /^ZZP[A-Z2-7]{8}$/);
  // ATR: TS 3B, and the historical bytes carry "HSM".
  assert.equal(d.atr[0], 0x3b);
  assert.ok(Buffer.from(d.atr).includes(Buffer.from('HSM')), `ATR ${h.hex(d.atr)}`);

  const sel = ok(d.reader.apdu(h.select()), 'SELECT');
  assert.equal(sel.data[0], 0x62, 'SELECT answers an FCP template');
  ok(d.reader.apdu(h.initialize()), 'INITIALIZE');
  // A wrong PIN is refused with 63 Cx before the right one is accepted.
  const bad = d.reader.apdu(h.verify(Buffer.from('000000')));
  assert.equal(bad.sw & 0xfff0, 0x63c0, `wrong PIN: SW ${bad.sw.toString(16)}`);
  ok(d.reader.apdu(h.verify()), 'VERIFY');

  const gen = ok(d.reader.apdu(h.generateEC(1, 'P256')), 'GENERATE P-256');
  const pub = h.publicKeyOf(Buffer.from(gen.data), 'P256');

  const msg = Buffer.from('firmware in the loop');
  d.m.sample(1000); // a statistical profile of the SIGN (profile.js prints one)
  const s1 = ok(d.reader.apdu(h.sign(1, h.ALG_ECDSA_SHA256, msg)), 'SIGN P-256');
  const prof = flatProfile(d.m.takeSamples(), loadSymbols(h.DEFAULT_UF2.replace(/\.uf2$/, '.elf')), 1);
  d.m.sample(0);
  // One sample per 1000 of core 1's cycles while the card worked, nearly all in named functions,
  // the most in mbedTLS's bignum code (ECDSA is field arithmetic).
  assert.ok(Math.abs(prof.total - s1.cycles / 1000) < s1.cycles / 10000, `${prof.total} samples for ${s1.cycles} cycles`);
  const named = prof.rows.filter(([f]) => !f.startsWith('(')).reduce((a, [, c]) => a + c, 0);
  assert.ok(named > 0.9 * prof.total, `only ${named} of ${prof.total} samples in named functions`);
  assert.match(prof.rows[0][0], /^(mbedtls_mpi_|ecp_)/, `top function ${prof.rows[0][0]}`);
  console.log(`SIGN profile: ${prof.rows.slice(0, 3).map(([f, c]) => `${f} ${(100 * c / prof.total).toFixed(0)} %`).join(', ')}`);
  assert.ok(crypto.verify('sha256', msg, pub, Buffer.from(s1.data)), 'signature verifies with node crypto');
  assert.ok(!crypto.verify('sha256', Buffer.from('other message'), pub, Buffer.from(s1.data)), 'and only for its message');
  console.log(`time extensions seen: ${d.reader.timeExtensions}; ROM calls: ${JSON.stringify(d.m.romCalls)}`);
  assert.ok(d.m.flashDirty, 'the store wrote flash through the ROM functions');

  console.log(`double-buffered IN pairs reordered: ${d.host.swappedHalves}`);

  // Chip reset: a new chip on the same flash contents, saved to a file and read back as a later
  // harness run would.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pico-hsm-fil-'));
  const file = path.join(dir, 'flash.bin');
  h.saveFlash(file, d.m);
  const flash = h.loadFlash(file);
  fs.rmSync(dir, { recursive: true });
  const e = h.boot({ image, flash, seed: 0x7654321 });
  report('boot after reset', e.enumerated);
  ok(e.reader.apdu(h.select()), 'SELECT');
  const noPin = e.reader.apdu(h.sign(1, h.ALG_ECDSA_SHA256, msg));
  assert.equal(noPin.sw.toString(16), '6982', 'SIGN before VERIFY after a reset');
  ok(e.reader.apdu(h.verify()), 'VERIFY');
  const s2 = ok(e.reader.apdu(h.sign(1, h.ALG_ECDSA_SHA256, msg)), 'SIGN P-256 (persisted)');
  assert.ok(crypto.verify('sha256', msg, pub, Buffer.from(s2.data)), 'persisted key signs verifiably');
  assert.notDeepEqual(Buffer.from(s1.data), Buffer.from(s2.data), 'fresh ECDSA nonce');
});
