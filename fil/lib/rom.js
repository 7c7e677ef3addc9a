// rom.js — a boot ROM of our own for rp2040js: no Raspberry Pi binary is loaded or committed.
//
// The image (pico-sdk) reaches the ROM only through its lookup tables, so the ROM we generate
// holds just what the SDK reads:
//   0x00  initial SP, reset/NMI/HardFault vectors (all to the HALT trap: nothing boots from here,
//         the harness starts the image like boot stage 2 does)
//   0x10  'M' 'u' 0x01 and the ROM version (3, the RP2040-B2 ROM the SDK expects)
//   0x14  u16 pointer to the function table, 0x16 to the data table, 0x18 to rom_table_lookup
//   then the two tables of (code, address) pairs, the soft-float/double tables ('SF', 'SD'),
//   and one trap per function: a BKPT instruction the harness catches (machine.js), runs the
//   function in JavaScript with the AAPCS arguments r0..r3 and returns to LR with r0 set.
// Functions served: P3 R3 L3 T3 (bit ops), MS M4 MC C4 (memset/memcpy), IF EX RE RP FC CX
// (flash connect / exit XIP / erase / program / flush / enter XIP). Float and double entries
// point at a trap that stops the run: the image links the SDK's float init but never calls a
// float function (if it ever does, the run fails loudly instead of computing garbage).

export const ROM_VERSION = 3;
const code = (s) => s.charCodeAt(0) | (s.charCodeAt(1) << 8);

const FUNC_TABLE = 0x100;
const DATA_TABLE = 0x200;
const SF_TABLE = 0x400;
const SD_TABLE = 0x600;
const SF_ENTRIES = 0x80; // words; more than SF_TABLE_V2_SIZE / 4
const STUBS = 0x1000;

// Names of the trapped functions, in stub order (address = STUBS + 4 * index).
export const ROM_FUNCS = [
  'HALT', 'LOOKUP', 'P3', 'R3', 'L3', 'T3', 'MS', 'M4', 'MC', 'C4',
  'IF', 'EX', 'RE', 'RP', 'FC', 'CX', 'FLOAT',
];

export function stubAddress(name) {
  const i = ROM_FUNCS.indexOf(name);
  if (i < 0) throw new Error(`no ROM stub ${name}`);
  return STUBS + 4 * i;
}

/** Returns the ROM as 4096 little-endian words for RP2040.loadBootrom(). */
export function buildRom() {
  const bytes = new Uint8Array(16 * 1024);
  const dv = new DataView(bytes.buffer);
  const thumb = (name) => stubAddress(name) | 1;
  dv.setUint32(0x00, 0x20042000, true);
  dv.setUint32(0x04, thumb('HALT'), true);
  dv.setUint32(0x08, thumb('HALT'), true);
  dv.setUint32(0x0c, thumb('HALT'), true);
  bytes.set([0x4d, 0x75, 0x01, ROM_VERSION], 0x10);
  dv.setUint16(0x14, FUNC_TABLE, true);
  dv.setUint16(0x16, DATA_TABLE, true);
  dv.setUint16(0x18, thumb('LOOKUP'), true);

  let p = FUNC_TABLE;
  for (const name of ROM_FUNCS.slice(2, -1)) {
    dv.setUint16(p, code(name), true);
    dv.setUint16(p + 2, thumb(name), true);
    p += 4;
  }
  dv.setUint32(p, 0, true);

  p = DATA_TABLE;
  for (const [name, addr] of [['SF', SF_TABLE], ['SD', SD_TABLE]]) {
    dv.setUint16(p, code(name), true);
    dv.setUint16(p + 2, addr, true);
    p += 4;
  }
  dv.setUint32(p, 0, true);

  // The SDK asserts on the table size stored in the byte two before the table.
  for (const t of [SF_TABLE, SD_TABLE]) {
    bytes[t - 2] = SF_ENTRIES;
    for (let i = 0; i < SF_ENTRIES; i++) dv.setUint32(t + 4 * i, thumb('FLOAT'), true);
  }

  for (let i = 0; i < ROM_FUNCS.length; i++) {
    dv.setUint16(STUBS + 4 * i, 0xbe00 | i, true); // BKPT #i
    dv.setUint16(STUBS + 4 * i + 2, 0x4770, true); // BX LR (never reached)
  }
  return new Uint32Array(bytes.buffer);
}
