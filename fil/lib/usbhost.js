// usbhost.js — a USB host for rp2040js's device-mode controller, and a CCID reader on top.
//
// rp2040js 1.4.1 ships only a CDC host; this one enumerates any device and talks CCID. It works
// around the controller model's quirks from the outside:
//   - an OUT "buffer available" is never answered inside the callback: it is recorded and
//     answered from the run loop when the host has data (or the status stage is due);
//   - a new SETUP is sent only after the previous transfer's status stage completed and the
//     device had SETTLE_CYCLES to consume it (a SETUP on top of an unconsumed status ZLP makes
//     TinyUSB panic);
//   - double-buffered IN: the model queues the second half before the first; the two buffers
//     queued by one buffer-control write are put back in order (DPRAMUpdated wrapper).
// No NAK/STALL/data toggles exist in the model: a stalled request shows as a timeout.
const SETTLE_CYCLES = 50_000; // 0.4 ms at 125 MHz

export class UsbHost {
  constructor(machine) {
    this.m = machine;
    const usb = machine.rp.usbCtrl;
    this.usb = usb;
    this.enabled = false;
    this.busReset = false;
    this.outArmed = new Map(); // endpoint -> requested length
    this.inData = new Map(); // endpoint -> array of received packets
    this.swappedHalves = 0; // double-buffered IN pairs put back in order
    usb.onUSBEnabled = () => { this.enabled = true; usb.resetDevice(); };
    usb.onResetReceived = () => { this.busReset = true; };
    usb.onEndpointRead = (ep, size) => { this.outArmed.set(ep, size); };
    usb.onEndpointWrite = (ep, buf) => {
      if (!this.inData.has(ep)) this.inData.set(ep, []);
      this.inData.get(ep).push(Uint8Array.from(buf));
    };
    const dpram = usb.DPRAMUpdated.bind(usb);
    usb.DPRAMUpdated = (offset, value) => {
      const ep = (offset - 0x80) >> 3;
      const alarms = ep >= 0 && ep < 16 ? usb.endpointWriteAlarms[ep] : null;
      const n = alarms ? alarms.buffers.length : 0;
      dpram(offset, value);
      if (alarms && alarms.buffers.length === n + 2) {
        const b = alarms.buffers;
        [b[n], b[n + 1]] = [b[n + 1], b[n]];
        this.swappedHalves++;
      }
    };
  }

  run(pred, maxCycles, what) { this.m.runUntil(pred, maxCycles, what); }

  takeIn(ep) {
    const q = this.inData.get(ep);
    return q && q.length ? q.shift() : null;
  }

  settle() {
    const until = this.m.cycles + SETTLE_CYCLES;
    this.run(() => this.m.cycles >= until, SETTLE_CYCLES * 2, 'settle');
  }

  // Answers an armed OUT endpoint with a packet.
  sendOut(ep, data, what) {
    this.run(() => this.outArmed.has(ep), 500_000_000, `OUT ep${ep} armed (${what})`);
    this.outArmed.delete(ep);
    this.usb.endpointReadDone(ep, data);
  }

  /** A control transfer; returns the IN data (device-to-host) or an empty array. */
  control(setup, outData = null) {
    const usb = this.usb;
    const wLength = setup[6] | (setup[7] << 8);
    const toHost = (setup[0] & 0x80) !== 0;
    this.inData.set(0, []);
    this.outArmed.delete(0);
    usb.sendSetupPacket(setup);
    let result = new Uint8Array(0);
    if (toHost) {
      const parts = [];
      let got = 0;
      for (;;) {
        let pkt = null;
        this.run(() => (pkt = this.takeIn(0)) !== null, 100_000_000, `control IN data (${hex(setup)})`);
        parts.push(pkt);
        got += pkt.length;
        if (pkt.length < 64 || got >= wLength) break;
      }
      result = concat(parts);
      this.sendOut(0, new Uint8Array(0), 'status'); // status stage: OUT ZLP
    } else {
      if (outData && outData.length) {
        for (let o = 0; o < outData.length; o += 64) this.sendOut(0, outData.subarray(o, o + 64), 'control data');
      }
      let pkt = null;
      this.run(() => (pkt = this.takeIn(0)) !== null, 100_000_000, `control status (${hex(setup)})`);
      if (pkt.length !== 0) throw new Error(`status stage carried ${pkt.length} bytes`);
    }
    this.settle();
    return result;
  }

  getDescriptor(type, index, length, lang = 0) {
    return this.control(Uint8Array.of(0x80, 6, index, type, lang & 0xff, lang >> 8, length & 0xff, length >> 8));
  }

  /** Enumeration: waits for the device, reads and checks its descriptors, configures it. */
  enumerate() {
    this.run(() => this.busReset, 3_000_000_000, 'USB enable and bus reset');
    this.settle();
    const dev = this.getDescriptor(1, 0, 64);
    if (dev.length !== 18 || dev[0] !== 18 || dev[1] !== 1) throw new Error(`bad device descriptor ${hex(dev)}`);
    this.control(Uint8Array.of(0x00, 5, 1, 0, 0, 0, 0, 0)); // SET_ADDRESS 1
    const head = this.getDescriptor(2, 0, 9);
    const total = head[2] | (head[3] << 8);
    const cfg = this.getDescriptor(2, 0, total);
    if (cfg.length !== total) throw new Error(`configuration descriptor: ${cfg.length} of ${total} bytes`);
    const parsed = parseConfig(cfg);
    const strings = {};
    const langs = this.getDescriptor(3, 0, 255);
    const lang = langs.length >= 4 ? langs[2] | (langs[3] << 8) : 0x0409;
    for (const [name, idx] of [['manufacturer', dev[14]], ['product', dev[15]], ['serial', dev[16]]]) {
      if (idx) strings[name] = utf16(this.getDescriptor(3, idx, 255, lang));
    }
    this.control(Uint8Array.of(0x00, 9, cfg[5], 0, 0, 0, 0, 0)); // SET_CONFIGURATION
    return {
      vid: dev[8] | (dev[9] << 8), pid: dev[10] | (dev[11] << 8), bcdUSB: dev[2] | (dev[3] << 8),
      maxPacket0: dev[7], device: dev, config: cfg, ...parsed, strings,
    };
  }
}

function parseConfig(cfg) {
  let ccid = null, cur = null;
  for (let i = 0; i + 2 <= cfg.length && cfg[i] >= 2; i += cfg[i]) {
    const len = cfg[i], type = cfg[i + 1];
    if (type === 4) cur = { number: cfg[i + 2], cls: cfg[i + 5], endpoints: [], functional: null };
    if (type === 4 && cfg[i + 5] === 0x0b) ccid = cur;
    if (type === 0x21 && cur) cur.functional = cfg.subarray(i, i + len);
    if (type === 5 && cur) cur.endpoints.push({ address: cfg[i + 2], attributes: cfg[i + 3], maxPacket: cfg[i + 4] | (cfg[i + 5] << 8) });
  }
  if (!ccid) throw new Error('no CCID interface (class 0x0B) in the configuration');
  const ep = (dirIn, type) => ccid.endpoints.find((e) => !!(e.address & 0x80) === dirIn && (e.attributes & 3) === type);
  const bulkIn = ep(true, 2), bulkOut = ep(false, 2), intIn = ep(true, 3);
  if (!bulkIn || !bulkOut) throw new Error('CCID interface without bulk endpoints');
  if (!ccid.functional || ccid.functional.length !== 54) throw new Error('CCID functional descriptor missing or not 54 bytes');
  return { ccid, bulkIn: bulkIn.address & 0x0f, bulkOut: bulkOut.address & 0x0f, intIn: intIn ? intIn.address & 0x0f : -1 };
}

/** A CCID reader on the enumerated device: PC_to_RDR messages on bulk OUT, replies on bulk IN. */
export class CcidReader {
  constructor(host, info) {
    this.host = host;
    this.info = info;
    this.seq = 0;
    this.timeExtensions = 0;
  }

  transact(type, data, param = [0, 0, 0]) {
    const h = this.host;
    const seq = this.seq++ & 0xff;
    const msg = new Uint8Array(10 + data.length);
    msg[0] = type;
    new DataView(msg.buffer).setUint32(1, data.length, true);
    msg[5] = 0; msg[6] = seq; msg.set(param, 7); msg.set(data, 10);
    h.inData.set(this.info.bulkIn, []);
    // The message ends after 10 + dwLength bytes (no ZLP after a multiple of 64, like libccid).
    for (let o = 0; o < msg.length; o += 64) h.sendOut(this.info.bulkOut, msg.subarray(o, o + 64), 'CCID');
    for (;;) {
      const resp = this.readMessage();
      if (resp[6] !== seq) throw new Error(`CCID bSeq ${resp[6]}, expected ${seq}`);
      if ((resp[7] >> 6) === 2) { this.timeExtensions++; continue; } // time extension
      return resp;
    }
  }

  readMessage() {
    const h = this.host, ep = this.info.bulkIn;
    const parts = [];
    let have = 0, need = -1;
    while (need < 0 || have < need) {
      let pkt = null;
      h.run(() => (pkt = h.takeIn(ep)) !== null, 20_000_000_000, 'CCID response');
      if (!pkt.length) continue;
      parts.push(pkt);
      have += pkt.length;
      if (need < 0 && have >= 10) {
        const head = concat(parts);
        need = 10 + new DataView(head.buffer).getUint32(1, true);
      }
    }
    const all = concat(parts);
    if (all.length !== need) throw new Error(`CCID message of ${all.length} bytes, header says ${need}`);
    return all;
  }

  powerOn() {
    const r = this.transact(0x62, new Uint8Array(0));
    if (r[0] !== 0x80 || (r[7] >> 6) !== 0) throw new Error(`IccPowerOn failed: ${hex(r.subarray(0, 10))}`);
    return r.subarray(10);
  }

  /** Sends one APDU; returns { data, sw, cycles }. */
  apdu(cmd) {
    const c0 = this.host.m.cycles;
    const r = this.transact(0x6f, cmd);
    if (r[0] !== 0x80 || (r[7] >> 6) !== 0) throw new Error(`XfrBlock failed: ${hex(r.subarray(0, 10))}`);
    const body = r.subarray(10);
    if (body.length < 2) throw new Error('R-APDU shorter than a status word');
    return {
      data: body.subarray(0, body.length - 2),
      sw: (body[body.length - 2] << 8) | body[body.length - 1],
      cycles: this.host.m.cycles - c0,
    };
  }
}

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
export const hex = (b) => Buffer.from(b).toString('hex');
function utf16(d) { return Buffer.from(d.subarray(2, d[0])).toString('utf16le'); }
