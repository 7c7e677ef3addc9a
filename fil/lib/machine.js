// machine.js — an RP2040 for our firmware: rp2040js 1.4.1 plus what it lacks and the image uses.
//
// Added to rp2040js:
//   - core 1: a second CortexM0Core on the same bus. The two cores run in lock-step on one clock:
//     the run loop always steps the core that is behind (per-core cycle counters), and the
//     shared clock (timer, USB alarms) advances to the slower core's time. rp2040.core points
//     at the core being stepped, so the per-core state rp2040js reaches through it (NVIC, VTOR,
//     SysTick, PPB) is per core. A core in WFE/WFI idles until an interrupt, or an SEV from the
//     other core (rp2040js's SEV only logs; the harness's logger turns that log into the event).
//   - SIO: CPUID, the two inter-core FIFOs (8 words each way, VLD/RDY/WOF/ROE, the
//     SIO_IRQ_PROC0/1 interrupts), the divider per core. Spin locks are shared already.
//   - the core-1 launch: PSM FRCE_OFF.proc1 holds core 1 in reset; released, core 1 "runs the
//     boot ROM", modelled here: it drains its FIFO, pushes 0, then echoes the launch sequence
//     0, 0, 1, VTOR, SP, entry and starts there.
//   - the boot ROM (rom.js) and its functions, including flash erase/program on the flash array
//     (NOR rules: erase sets 0xFF, program ANDs), with typical W25Q16 timings charged as cycles
//     to the calling core (sector erase 45 ms, page program 0.4 ms).
//   - the SSI as a SPI NOR chip for the SDK's flash_do_cmd (chip select through IO_QSPI SS
//     override): JEDEC id, unique id (0x4B), status; everything else reads 0 as before.
//   - ROSC (status: enabled+stable; RANDOMBIT from a seeded xorshift: deterministic runs, NOT
//     entropy), VREG_AND_CHIP_RESET (reads as after power-on instead of all ones), the QSPI SS
//     pad (BOOTSEL) reading "not pressed", the Cortex-M0+ MPU registers (stored, not enforced).
// Start-up: the image's vector table at 0x10000100 gives VTOR, SP and PC, as boot stage 2 would.
// Time: 8 ns per cycle (125 MHz) whatever clock the firmware programs.
import { RP2040 } from '../node_modules/rp2040js/dist/esm/rp2040.js';
import { CortexM0Core } from '../node_modules/rp2040js/dist/esm/cortex-m0-core.js';
import { BasePeripheral } from '../node_modules/rp2040js/dist/esm/peripherals/peripheral.js';
import { buildRom, ROM_FUNCS } from './rom.js';

export const CLOCK_HZ = 125_000_000;
const NS_PER_CYCLE = 8;
export const FLASH_SIZE = 2 * 1024 * 1024; // the Pico's W25Q16
const ERASE_CYCLES = 0.045 * CLOCK_HZ;
const PROGRAM_CYCLES = 0.0004 * CLOCK_HZ;
const WAKE_LIMIT = 200_000; // a core in WFE wakes after this many cycles (spurious wakes are legal)

const FIFO_DEPTH = 8;
const SIO_CPUID = 0x000, SIO_FIFO_ST = 0x050, SIO_FIFO_WR = 0x054, SIO_FIFO_RD = 0x058;
const SIO_IRQ_PROC0 = 15;
const PSM_FRCE_OFF = 0x04, PSM_PROC1 = 1 << 16;

class ChipReset extends BasePeripheral {
  constructor(rp, name) { super(rp, name); this.regs = { 0: 0xb1, 4: 0x91, 8: 1 << 8 }; }
  readUint32(off) { return this.regs[off] ?? 0; }
  writeUint32(off, v) { if (off < 8) this.regs[off] = v; }
}

class Rosc extends BasePeripheral {
  constructor(rp, name, seed) { super(rp, name); this.regs = {}; this.x = seed >>> 0 || 1; }
  readUint32(off) {
    if (off === 0x18) return (0x80000000 | 0x1000) >>> 0; // STATUS: STABLE | ENABLED
    if (off === 0x1c) { // RANDOMBIT
      let x = this.x; x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; this.x = x >>> 0;
      return this.x & 1;
    }
    return this.regs[off] ?? 0;
  }
  writeUint32(off, v) { this.regs[off] = v; }
}

class IoQspi extends BasePeripheral {
  constructor(rp, name, nor) { super(rp, name); this.regs = {}; this.nor = nor; }
  readUint32(off) { return this.regs[off] ?? 0; }
  writeUint32(off, v) {
    this.regs[off] = v;
    if (off === 0x0c) { // GPIO_QSPI_SS_CTRL: OUTOVER 2 = drive low (select), else release
      const over = (v >> 8) & 3;
      if (over === 2) this.nor.select(); else this.nor.deselect();
    }
  }
}

// The flash chip as the SSI sees it when the SDK drives chip select itself.
class SpiNor {
  constructor(uid) { this.uid = uid; this.selected = false; this.rx = []; this.n = 0; this.cmd = 0; }
  select() { this.selected = true; this.n = 0; this.rx = []; }
  deselect() { this.selected = false; }
  exchange(b) {
    if (!this.selected) return 0;
    const i = this.n++;
    if (i === 0) { this.cmd = b; return 0; }
    switch (this.cmd) {
      case 0x9f: return [0xef, 0x40, 0x15][i - 1] ?? 0; // JEDEC id: Winbond W25Q16
      case 0x4b: return i >= 5 && i < 13 ? this.uid[i - 5] : 0; // 4 dummy bytes, 8 id bytes
      default: return 0; // status registers: not busy
    }
  }
}

export class Machine {
  /**
   * @param {object} o
   * @param {Uint8Array} o.image  flash contents from offset 0 (boot2 + program)
   * @param {Uint8Array} [o.flash] a flash image (FLASH_SIZE bytes) to start from
   * @param {number} [o.seed] ROSC bit generator seed
   * @param {Uint8Array} [o.uid] the flash chip's 8-byte unique id
   */
  constructor({ image, flash, seed = 0x1234567, uid = Uint8Array.of(0xe6, 0x61, 0x64, 0x08, 0x43, 0x21, 0x4f, 0x2e) }) {
    const rp = new RP2040();
    this.rp = rp;
    this.warnings = [];
    this.cores = [rp.core, new CortexM0Core(rp)];
    this.cyc = [0, 0];
    this.clockCycles = 0;
    this.waitSince = [0, 0];
    this.core1State = 'reset'; // 'reset' (held), 'rom' (ROM handshake), 'run'
    this.core1Seq = [];
    this.fifo = [[], []]; // fifo[k]: words for core k
    this.fifoErr = [0, 0]; // bit 2 WOF, bit 3 ROE
    this.halted = null;
    this.romCalls = {};
    this.flashDirty = false;

    rp.logger = {
      debug() {}, info: (comp, msg) => { if (msg === 'SEV') this.sev(); },
      warn: (comp, msg) => { if (this.warnings.length < 1000) this.warnings.push(`${comp}: ${msg}`); },
      error: (comp, msg) => { throw new Error(`[${comp}] ${msg}`); },
    };
    rp.loadBootrom(buildRom());
    if (flash) rp.flash.set(flash.subarray(0, FLASH_SIZE));
    rp.flash.set(image, 0);

    // Interrupt lines go to both NVICs; each core's enables decide (SIO FIFO IRQs are per core).
    rp.setInterrupt = (irq, v) => { this.cores[0].setInterrupt(irq, v); this.cores[1].setInterrupt(irq, v); };
    rp.onBreak = (n) => this.onBreak(n);

    const nor = new SpiNor(uid);
    rp.peripherals[0x40064] = new ChipReset(rp, 'VREG_AND_CHIP_RESET');
    rp.peripherals[0x40060] = new Rosc(rp, 'ROSC', seed);
    rp.peripherals[0x40018] = new IoQspi(rp, 'IO_QSPI', nor);
    const ssi = rp.peripherals[0x18000];
    const ssiWrite = ssi.writeUint32.bind(ssi);
    const ssiRead = ssi.readUint32.bind(ssi);
    ssi.writeUint32 = (off, v) => { if (off === 0x60 && nor.selected) { nor.rx.push(nor.exchange(v & 0xff)); return; } ssiWrite(off, v); };
    ssi.readUint32 = (off) => { if (off === 0x60 && nor.selected) return nor.rx.shift() ?? 0; return ssiRead(off); };
    rp.qspi[1].setInputValue(true); // BOOTSEL not pressed
    this.patchSio();
    this.patchPsm();
    this.patchPpb();

    // Core 1 starts in the boot ROM's wait loop, as after power-on.
    this.core1State = 'rom';
    this.fifoPush(1, 0);

    // Boot like stage 2: skip boot2, take VTOR/SP/PC from the image's vector table.
    const c0 = this.cores[0];
    c0.VTOR = 0x10000100;
    c0.SP = rp.readUint32(0x10000100);
    c0.PC = rp.readUint32(0x10000104) & ~1;
  }

  get cycles() { return this.clockCycles; }

  /** Starts (every > 0) or stops (0) recording each core's PC once every `every` of its cycles:
   *  a statistical profile, read as [pc, core, pc, core, ...] from takeSamples(). */
  sample(every) {
    this.sampleEvery = every;
    this.samples = every > 0 ? [] : null;
    this.nextSample = [this.cyc[0] + every, this.cyc[1] + every];
  }

  takeSamples() { const s = this.samples || []; if (this.samples) this.samples = []; return s; }

  sev() {
    for (const c of this.cores) { c.eventRegistered = true; c.waiting = false; }
  }

  patchSio() {
    const rp = this.rp, sio = rp.sio;
    // Divider per core.
    const div = [{}, {}];
    for (const d of div) Object.assign(d, { divDividend: 0, divDivisor: 1, divQuotient: 0, divRemainder: 0, divCSR: 0 });
    for (const f of Object.keys(div[0])) {
      delete sio[f];
      Object.defineProperty(sio, f, {
        get: () => div[this.coreIndex()][f],
        set: (v) => { div[this.coreIndex()][f] = v; },
      });
    }
    const read = sio.readUint32.bind(sio), write = sio.writeUint32.bind(sio);
    sio.readUint32 = (off) => {
      const k = this.coreIndex();
      switch (off) {
        case SIO_CPUID: return k;
        case SIO_FIFO_ST:
          return (this.fifo[k].length ? 1 : 0) | (this.fifo[1 - k].length < FIFO_DEPTH ? 2 : 0) | this.fifoErr[k];
        case SIO_FIFO_RD: {
          if (!this.fifo[k].length) { this.fifoErr[k] |= 8; this.fifoIrq(k); return 0; }
          const v = this.fifo[k].shift();
          this.fifoIrq(k);
          return v;
        }
      }
      return read(off);
    };
    sio.writeUint32 = (off, v) => {
      const k = this.coreIndex();
      switch (off) {
        case SIO_FIFO_ST: this.fifoErr[k] &= ~(v & 0xc); this.fifoIrq(k); return;
        case SIO_FIFO_WR: this.fifoPush(k, v >>> 0); return;
        case SIO_FIFO_RD: return;
      }
      write(off, v);
    };
  }

  coreIndex() { return this.rp.core === this.cores[1] ? 1 : 0; }

  fifoPush(from, v) {
    const to = 1 - from;
    if (this.fifo[to].length >= FIFO_DEPTH) { this.fifoErr[from] |= 4; this.fifoIrq(from); return; }
    this.fifo[to].push(v);
    this.fifoIrq(to);
    if (to === 1 && this.core1State === 'rom') this.core1Rom();
  }

  fifoIrq(k) {
    this.cores[k].setInterrupt(SIO_IRQ_PROC0 + k, this.fifo[k].length > 0 || this.fifoErr[k] !== 0);
  }

  // Core 1's boot ROM wait loop: echo every word; 0 restarts; 1, VTOR, SP, entry starts core 1.
  core1Rom() {
    while (this.fifo[1].length && this.core1State === 'rom') {
      const v = this.fifo[1].shift();
      this.fifoIrq(1);
      if (this.fifo[0].length < FIFO_DEPTH) { this.fifo[0].push(v); this.fifoIrq(0); }
      this.sev();
      if (v === 0) { this.core1Seq = []; continue; }
      this.core1Seq.push(v);
      if (this.core1Seq[0] !== 1) { this.core1Seq = []; continue; }
      if (this.core1Seq.length === 4) {
        const [, vtor, sp, entry] = this.core1Seq;
        const c1 = this.cores[1];
        c1.VTOR = vtor; c1.SP = sp; c1.PC = entry & ~1;
        this.cyc[1] = this.cyc[0];
        this.core1State = 'run';
      }
    }
  }

  patchPsm() {
    const psm = this.rp.peripherals[0x40010];
    const write = psm.writeUint32.bind(psm);
    psm.writeUint32 = (off, v) => {
      const before = psm.frceOff;
      write(off, v);
      if (off !== PSM_FRCE_OFF) return;
      if (v & PSM_PROC1 && !(before & PSM_PROC1)) {
        this.core1State = 'reset';
      } else if (!(v & PSM_PROC1) && before & PSM_PROC1) {
        // Core 1 leaves reset: a fresh core in the ROM, which drains its FIFO and pushes 0.
        const fresh = new CortexM0Core(this.rp);
        const old = this.cores[1];
        fresh.enabledInterrupts = 0;
        this.cores[1] = fresh;
        if (this.rp.core === old) this.rp.core = fresh;
        this.fifo[1] = []; this.fifoErr[1] = 0;
        this.core1State = 'rom';
        this.core1Seq = [];
        this.fifoPush(1, 0);
        this.sev();
      }
    };
  }

  patchPpb() {
    const ppb = this.rp.ppb;
    const mpu = [{}, {}];
    const read = ppb.readUint32.bind(ppb), write = ppb.writeUint32.bind(ppb);
    ppb.readUint32 = (off) => {
      if (off === 0xd90) return 0x800; // MPU_TYPE: 8 regions
      if ((off >= 0xd94 && off <= 0xda0) || off === 0xd10 || off === 0xd0c) return mpu[this.coreIndex()][off] ?? 0;
      return read(off);
    };
    ppb.writeUint32 = (off, v) => {
      if ((off >= 0xd94 && off <= 0xda0) || off === 0xd10) { mpu[this.coreIndex()][off] = v; return; }
      if (off === 0xd0c) { // AIRCR: SYSRESETREQ resets the chip
        if ((v >>> 16) === 0x05fa && v & 4) this.halted = 'SYSRESETREQ';
        return;
      }
      write(off, v);
    };
  }

  // ---- ROM function traps ----
  onBreak(n) {
    const core = this.rp.core;
    const pc = (core.PC - 2) >>> 0;
    if (pc >= 0x4000 || n >= ROM_FUNCS.length) {
      this.halted = `BKPT #${n} at 0x${pc.toString(16)} on core ${this.coreIndex()}`;
      core.PC = pc; // stay on it
      return;
    }
    const name = ROM_FUNCS[n];
    this.romCalls[name] = (this.romCalls[name] || 0) + 1;
    const r = core.registers;
    const rp = this.rp;
    let ret = r[0];
    let extra = 0;
    switch (name) {
      case 'LOOKUP': { // rom_table_lookup(table, code)
        let p = r[0];
        ret = 0;
        for (;;) {
          const c = rp.readUint16(p);
          if (!c) break;
          if (c === (r[1] & 0xffff)) { ret = rp.readUint16(p + 2); break; }
          p += 4;
        }
        extra = 20;
        break;
      }
      case 'P3': { let x = r[0] >>> 0, c = 0; while (x) { c += x & 1; x >>>= 1; } ret = c; break; }
      case 'R3': { let x = r[0] >>> 0, y = 0; for (let i = 0; i < 32; i++) { y = (y << 1) | (x & 1); x >>>= 1; } ret = y >>> 0; break; }
      case 'L3': ret = Math.clz32(r[0]); break;
      case 'T3': { const x = r[0] >>> 0; ret = x ? 31 - Math.clz32(x & -x) : 32; break; }
      case 'MS': case 'M4': {
        for (let i = 0; i < r[2]; i++) rp.writeUint8(r[0] + i, r[1] & 0xff);
        extra = r[2] >>> 1;
        break;
      }
      case 'MC': case 'C4': {
        for (let i = 0; i < r[2]; i++) rp.writeUint8(r[0] + i, rp.readUint8(r[1] + i));
        extra = r[2];
        break;
      }
      case 'IF': case 'EX': case 'FC': case 'CX': break;
      case 'RE': { // flash_range_erase(addr, count, block_size, block_cmd)
        const a = r[0], cnt = r[1];
        if (a % 4096 || cnt % 4096 || a + cnt > FLASH_SIZE) { this.halted = `bad flash erase ${a}+${cnt}`; break; }
        rp.flash.fill(0xff, a, a + cnt);
        extra = (cnt / 4096) * ERASE_CYCLES;
        this.flashDirty = true;
        break;
      }
      case 'RP': { // flash_range_program(addr, data, count)
        const a = r[0], src = r[1], cnt = r[2];
        if (a % 256 || cnt % 256 || a + cnt > FLASH_SIZE) { this.halted = `bad flash program ${a}+${cnt}`; break; }
        for (let i = 0; i < cnt; i++) rp.flash[a + i] &= rp.readUint8(src + i);
        extra = (cnt / 256) * PROGRAM_CYCLES;
        this.flashDirty = true;
        break;
      }
      default:
        this.halted = `ROM function ${name} called at LR 0x${r[14].toString(16)} (not provided)`;
        core.PC = pc;
        return;
    }
    r[0] = ret >>> 0;
    core.PC = r[14] & ~1;
    core.cycles += 4 + Math.round(extra);
  }

  // ---- the run loop ----
  /** Runs up to n instruction slots; returns early if halted. */
  step(n) {
    const rp = this.rp, cores = this.cores, cyc = this.cyc, clock = rp.clock;
    for (let i = 0; i < n; i++) {
      if (this.halted) return;
      const two = this.core1State === 'run';
      const k = two && cyc[1] < cyc[0] ? 1 : 0;
      const core = cores[k];
      if (core.waiting) {
        if (!this.waitSince[k]) this.waitSince[k] = cyc[k] || 1;
        const other = two ? 1 - k : -1;
        if (other >= 0 && !cores[other].waiting) {
          cyc[k] = cyc[other] + 1;
        } else {
          // Everyone sleeps: jump to the next alarm (at most WAKE_LIMIT cycles).
          const toAlarm = clock.nextAlarm ? Math.ceil((clock.nextAlarm.nanos - clock.nanos) / NS_PER_CYCLE) : WAKE_LIMIT;
          const d = Math.max(1, Math.min(toAlarm, WAKE_LIMIT));
          cyc[0] += d; if (two) cyc[1] += d;
        }
        if (cyc[k] - this.waitSince[k] > WAKE_LIMIT) { core.waiting = false; }
      } else {
        this.waitSince[k] = 0;
        rp.core = core;
        const before = core.cycles;
        core.executeInstruction();
        cyc[k] += core.cycles - before;
        if (this.samples && cyc[k] >= this.nextSample[k]) {
          this.samples.push(core.PC, k);
          this.nextSample[k] += this.sampleEvery;
        }
      }
      const now = two ? Math.min(cyc[0], cyc[1]) : cyc[0];
      if (now > this.clockCycles) {
        // Move the clock; run alarms only when one is due (tick() walks the alarm list).
        const ns = now * NS_PER_CYCLE;
        const next = clock.nextAlarm;
        if (next && next.nanos <= ns) clock.tick(ns - clock.nanosCounter);
        else clock.nanosCounter = ns;
        this.clockCycles = now;
      }
    }
  }

  /** Runs until pred() is true (checked every `every` slots) or maxCycles pass. */
  runUntil(pred, maxCycles, what = 'condition') {
    const limit = this.clockCycles + maxCycles;
    while (!pred()) {
      if (this.halted) throw new Error(`machine halted (${this.halted}) waiting for ${what}; pc0=0x${this.cores[0].PC.toString(16)} pc1=0x${this.cores[1].PC.toString(16)}`);
      if (this.clockCycles > limit) throw new Error(`timeout after ${maxCycles} cycles waiting for ${what}; pc0=0x${this.cores[0].PC.toString(16)} pc1=0x${this.cores[1].PC.toString(16)} core1=${this.core1State}`);
      this.step(2000);
    }
  }

  flashImage() { return this.rp.flash.slice(0, FLASH_SIZE); }
}

/** Reads a UF2 file into a flash image (offsets from 0x10000000). */
export function uf2ToImage(buf) {
  let end = 0;
  const blocks = [];
  for (let o = 0; o + 512 <= buf.length; o += 512) {
    const dv = new DataView(buf.buffer, buf.byteOffset + o, 512);
    if (dv.getUint32(0, true) !== 0x0a324655 || dv.getUint32(4, true) !== 0x9e5d5157) throw new Error('not a UF2 block');
    const addr = dv.getUint32(12, true), size = dv.getUint32(16, true);
    if (addr < 0x10000000 || addr + size > 0x10000000 + FLASH_SIZE) throw new Error(`UF2 block outside flash: 0x${addr.toString(16)}`);
    blocks.push([addr - 0x10000000, buf.subarray(o + 32, o + 32 + size)]);
    end = Math.max(end, addr - 0x10000000 + size);
  }
  const img = new Uint8Array(end).fill(0xff);
  for (const [off, data] of blocks) img.set(data, off);
  return img;
}
