// hsm.js — booting the image in the machine and the SmartCard-HSM APDUs the FIL test and the
// benchmark send (encodings as host/hsm and /work/shared/spec/smartcard-hsm-core.md give them).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Machine, uf2ToImage, CLOCK_HZ, FLASH_SIZE } from './machine.js';
import { UsbHost, CcidReader, hex } from './usbhost.js';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_UF2 = process.env.PICO_HSM_UF2 || path.join(top, 'build/rp2040/pico_hsm.uf2');

export const AID = Buffer.from('E82B0601040181C31F0201', 'hex');
export const USER_PIN = Buffer.from('648219');
export const SO_PIN = Buffer.from('3537363231383830', 'hex');
const ID_TA = '04007F0007020202';
const OID_ECDSA_SHA256 = Buffer.from(ID_TA + '0203', 'hex');
const OID_RSA_V15_SHA256 = Buffer.from(ID_TA + '0102', 'hex');

export const CURVES = {
  P256: {
    name: 'prime256v1', size: 32,
    p: 'FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF',
    a: 'FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC',
    b: '5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B',
    g: '046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5',
    n: 'FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551',
  },
  P384: {
    name: 'secp384r1', size: 48,
    p: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF',
    a: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC',
    b: 'B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF',
    g: '04AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB73617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F',
    n: 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973',
  },
};

// ---- BER-TLV ----
export function tlv(tag, value) {
  value = Buffer.from(value);
  const t = tag > 0xff ? Buffer.from([tag >> 8, tag & 0xff]) : Buffer.from([tag]);
  const n = value.length;
  const l = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([t, Buffer.from(l), value]);
}

/** Finds the first object with tag (one- or two-byte) anywhere in a TLV tree. */
export function findTag(buf, want) {
  let i = 0;
  while (i < buf.length) {
    let tag = buf[i++];
    const constructed = (tag & 0x20) !== 0;
    if ((tag & 0x1f) === 0x1f) tag = (tag << 8) | buf[i++];
    let len = buf[i++];
    if (len === 0x81) len = buf[i++];
    else if (len === 0x82) { len = (buf[i] << 8) | buf[i + 1]; i += 2; }
    const v = buf.subarray(i, i + len);
    if (tag === want) return v;
    if (constructed) { const r = findTag(v, want); if (r) return r; }
    i += len;
  }
  return null;
}

// ---- APDUs ----
export function apduShort(cla, ins, p1, p2, data, le) {
  const parts = [Buffer.from([cla, ins, p1, p2])];
  if (data && data.length) parts.push(Buffer.from([data.length]), Buffer.from(data));
  if (le !== undefined) parts.push(Buffer.from([le & 0xff]));
  return Buffer.concat(parts);
}
export function apduExt(cla, ins, p1, p2, data, ne) {
  const n = data.length;
  return Buffer.concat([Buffer.from([cla, ins, p1, p2, 0, n >> 8, n & 0xff]), Buffer.from(data),
    Buffer.from([(ne >> 8) & 0xff, ne & 0xff])]);
}

export const select = () => apduShort(0x00, 0xa4, 0x04, 0x00, AID, 0);
export const initialize = ({ dkekShares = 0 } = {}) => apduShort(0x80, 0x50, 0, 0, Buffer.concat([
  tlv(0x80, [0x00, 0x01]), tlv(0x81, USER_PIN), tlv(0x82, SO_PIN), tlv(0x91, [3]),
  ...(dkekShares ? [tlv(0x92, [dkekShares])] : [])]));
// DKEK (core spec 2.10, 2.14, 2.15): IMPORT DKEK SHARE; WRAP KEY (case 2E); UNWRAP KEY with
// the blob as data (case 3E, as OpenSC 0.23 sends it).
export const importDkekShare = (share) => apduShort(0x80, 0x52, 0x00, 0x00, share, 0);
export const wrapKey = (id) => Buffer.from([0x80, 0x72, id, 0x92, 0x00, 0x00, 0x00]);
export const unwrapKey = (id, blob) => Buffer.concat([
  Buffer.from([0x80, 0x74, id, 0x93, 0x00, blob.length >> 8, blob.length & 0xff]), Buffer.from(blob)]);
export const verify = (pin = USER_PIN) => apduShort(0x00, 0x20, 0x00, 0x81, pin);

export function generateEC(id, curve) {
  const c = CURVES[curve];
  const tmpl = tlv(0x7f49, Buffer.concat([tlv(0x06, OID_ECDSA_SHA256), tlv(0x81, Buffer.from(c.p, 'hex')),
    tlv(0x82, Buffer.from(c.a, 'hex')), tlv(0x83, Buffer.from(c.b, 'hex')), tlv(0x84, Buffer.from(c.g, 'hex')),
    tlv(0x85, Buffer.from(c.n, 'hex')), tlv(0x87, [1])]));
  return apduExt(0x00, 0x46, id, 0x00, Buffer.concat([tlv(0x5f29, [0]), tmpl]), 0);
}
export function generateRSA(id, bits) {
  const tmpl = tlv(0x7f49, Buffer.concat([tlv(0x06, OID_RSA_V15_SHA256), tlv(0x82, [1, 0, 1]),
    tlv(0x02, [bits >> 8, bits & 0xff])]));
  return apduExt(0x00, 0x46, id, 0x00, Buffer.concat([tlv(0x5f29, [0]), tmpl]), 0);
}
export const sign = (id, alg, data) => apduExt(0x80, 0x68, id, alg, data, 0x200);
export const ALG_ECDSA_SHA256 = 0x73;

// Symmetric keys (pico-hsm-extensions.md 1.2, 1.6.8): GENERATE SYMMETRIC KEY (P2 B0/B1/B2 =
// AES-128/192/256) and CIPHER SYMMETRIC 51 (encrypt) / 52 (decrypt) with an AES-GCM OID.
export const generateAES = (id, bits) => apduShort(0x80, 0x48, id, { 128: 0xb0, 192: 0xb1, 256: 0xb2 }[bits]);
const OID_AES256_GCM = Buffer.from('60864801650304012e', 'hex'); // 2.16.840.1.101.3.4.1.46
export const aesGCM = (id, encrypt, data, iv) => apduExt(0x80, 0x78, id, encrypt ? 0x51 : 0x52,
  Buffer.concat([tlv(0x06, OID_AES256_GCM), tlv(0x81, data), tlv(0x82, iv)]), 0);
export const ALG_RSA_PKCS1_SHA256 = 0x33;

/** The public key of a key-generation answer as a node KeyObject. */
export function publicKeyOf(resp, curve) {
  const pk = findTag(resp, 0x7f49);
  if (!pk) throw new Error('no 7F49 public key in the answer');
  if (curve) {
    const c = CURVES[curve];
    const pt = findTag(pk, 0x86);
    if (!pt || pt.length !== 1 + 2 * c.size || pt[0] !== 4) throw new Error(`bad EC point ${pt && hex(pt)}`);
    return crypto.createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: curve === 'P256' ? 'P-256' : 'P-384',
      x: pt.subarray(1, 1 + c.size).toString('base64url'), y: pt.subarray(1 + c.size).toString('base64url') } });
  }
  const n = findTag(pk, 0x81), e = findTag(pk, 0x82);
  if (!n || !e) throw new Error('no RSA modulus/exponent');
  return crypto.createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') } });
}

// ---- a booted device ----
export function loadImage(uf2 = DEFAULT_UF2) {
  if (!fs.existsSync(uf2)) throw new Error(`${uf2} missing: run make firmware-rp2040`);
  return uf2ToImage(fs.readFileSync(uf2));
}

/** Powers the chip up (from a flash image if given), enumerates it and powers the CCID slot. */
export function boot({ image, flash, seed } = {}) {
  const m = new Machine({ image: image || loadImage(), flash, seed });
  const host = new UsbHost(m);
  const info = host.enumerate();
  const enumerated = m.cycles;
  const reader = new CcidReader(host, info);
  const atr = reader.powerOn();
  return { m, host, info, reader, atr, enumerated };
}

/** A flash image file (FLASH_SIZE bytes: program and store) kept across harness runs. */
export function saveFlash(file, m) { fs.writeFileSync(file, m.flashImage()); }
export function loadFlash(file) {
  const b = fs.readFileSync(file);
  if (b.length !== FLASH_SIZE) throw new Error(`${file}: ${b.length} bytes, want ${FLASH_SIZE}`);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

export const seconds = (cycles) => cycles / CLOCK_HZ;
export { CLOCK_HZ, hex };
