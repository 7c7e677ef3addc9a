package uf2

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// prog describes one program header of a hand-made ELF.
type prog struct {
	typ          elf.ProgType
	vaddr, paddr uint32
	data         []byte
	memsz        uint32
}

// buildELF writes a minimal ELF32 little-endian executable: the 52-byte file header, the
// program header table, then the segment contents. There is no section header table.
func buildELF(t *testing.T, machine elf.Machine, progs []prog) []byte {
	t.Helper()
	const ehsize, phentsize = 52, 32
	le := binary.LittleEndian
	var buf bytes.Buffer
	w := func(v any) {
		if err := binary.Write(&buf, le, v); err != nil {
			t.Fatal(err)
		}
	}
	buf.Write([]byte{0x7F, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	buf.Write(make([]byte, 9)) // OS ABI, ABI version, padding
	w(uint16(elf.ET_EXEC))
	w(uint16(machine))
	w(uint32(elf.EV_CURRENT))
	w(uint32(0x10000001)) // entry
	w(uint32(ehsize))     // phoff
	w(uint32(0))          // shoff
	w(uint32(0x05000200)) // flags: EABI5, hard float
	w(uint16(ehsize))
	w(uint16(phentsize))
	w(uint16(len(progs)))
	w(uint16(40)) // shentsize
	w(uint16(0))  // shnum
	w(uint16(0))  // shstrndx
	off := uint32(ehsize + phentsize*len(progs))
	for _, p := range progs {
		memsz := p.memsz
		if memsz < uint32(len(p.data)) {
			memsz = uint32(len(p.data))
		}
		w(uint32(p.typ))
		w(off)
		w(p.vaddr)
		w(p.paddr)
		w(uint32(len(p.data)))
		w(memsz)
		w(uint32(elf.PF_R | elf.PF_X))
		w(uint32(4))
		off += uint32(len(p.data))
	}
	for _, p := range progs {
		buf.Write(p.data)
	}
	return buf.Bytes()
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// text is 300 bytes at the start of flash; data runs from RAM but is stored right after
// text, sharing text's second page, as pico-sdk lays out .data; bss has no file content.
var (
	text = pattern(300, 1)
	data = pattern(40, 0x80)
)

func sdkLikeELF(t *testing.T) []byte {
	return buildELF(t, elf.EM_ARM, []prog{
		{typ: elf.PT_LOAD, vaddr: 0x10000000, paddr: 0x10000000, data: text},
		{typ: elf.PT_LOAD, vaddr: 0x20000000, paddr: 0x10000000 + 300, data: data, memsz: 100},
		{typ: elf.PT_LOAD, vaddr: 0x20000100, paddr: 0x20000100, memsz: 0x400}, // .bss
		{typ: elf.PT_NOTE, vaddr: 0x30000000, paddr: 0x30000000, data: []byte{1, 2, 3, 4}},
	})
}

func TestFromELF(t *testing.T) {
	for _, family := range []uint32{FamilyRP2040, FamilyRP2350ARMS} {
		t.Run(FamilyName(family), func(t *testing.T) {
			elfBytes := sdkLikeELF(t)
			out, err := FromELF(elfBytes, family)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 2*BlockSize {
				t.Fatalf("UF2 has %d bytes, want 2 blocks", len(out))
			}
			le := binary.LittleEndian
			for i, addr := range []uint32{0x10000000, 0x10000100} {
				b := out[i*BlockSize:]
				for _, f := range []struct {
					off  int
					want uint32
				}{
					{0, MagicStart0}, {4, MagicStart1}, {8, FlagFamilyIDPresent}, {12, addr},
					{16, 256}, {20, uint32(i)}, {24, 2}, {28, family}, {508, MagicEnd},
				} {
					if got := le.Uint32(b[f.off:]); got != f.want {
						t.Errorf("block %d offset %d = %08x, want %08x", i, f.off, got, f.want)
					}
				}
				if tail := b[32+256 : 508]; !bytes.Equal(tail, make([]byte, len(tail))) {
					t.Errorf("block %d: data area after the payload is not zero", i)
				}
			}
			wantPage1 := make([]byte, 256)
			copy(wantPage1, text[256:])
			copy(wantPage1[44:], data)
			if got := out[32 : 32+256]; !bytes.Equal(got, text[:256]) {
				t.Error("page 0 differs from text")
			}
			if got := out[BlockSize+32 : BlockSize+32+256]; !bytes.Equal(got, wantPage1) {
				t.Errorf("page 1 = % x\nwant    % x", got, wantPage1)
			}

			img, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if img.Family != family || len(img.Pages) != 2 {
				t.Fatalf("Parse: family %08x, %d pages", img.Family, len(img.Pages))
			}
			if r := img.Ranges(); len(r) != 1 || r[0] != (Range{0x10000000, 0x10000200}) {
				t.Errorf("Ranges = %v", r)
			}
			if err := Verify(img, elfBytes); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if !bytes.Equal(img.Bytes(), out) {
				t.Error("Image.Bytes does not reproduce the file")
			}
		})
	}
}

func TestFromELFRanges(t *testing.T) {
	// Unsorted segments with a gap give two ranges in address order.
	elfBytes := buildELF(t, elf.EM_ARM, []prog{
		{typ: elf.PT_LOAD, vaddr: 0x10001000, paddr: 0x10001000, data: pattern(10, 3)},
		{typ: elf.PT_LOAD, vaddr: 0x10000000, paddr: 0x10000000, data: pattern(257, 5)},
	})
	out, err := FromELF(elfBytes, FamilyRP2040)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{0x10000000, 0x10000200}, {0x10001000, 0x10001100}}
	if got := img.Ranges(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Ranges = %v, want %v", got, want)
	}
}

func TestFromELFErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		elf    func(t *testing.T) []byte
		family uint32
	}{
		{"not an ELF", func(*testing.T) []byte { return []byte("hello") }, FamilyRP2040},
		{"RAM-only no_flash image", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_ARM, []prog{{typ: elf.PT_LOAD, vaddr: 0x20000000, paddr: 0x20000000, data: text}})
		}, FamilyRP2040},
		{"data stored in RAM", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_ARM, []prog{
				{typ: elf.PT_LOAD, vaddr: 0x10000000, paddr: 0x10000000, data: text},
				{typ: elf.PT_LOAD, vaddr: 0x20000000, paddr: 0x20000000, data: data},
			})
		}, FamilyRP2040},
		{"below flash", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_ARM, []prog{{typ: elf.PT_LOAD, vaddr: 0, paddr: 0x0FFFFF00, data: text}})
		}, FamilyRP2040},
		{"crosses end of flash", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_ARM, []prog{{typ: elf.PT_LOAD, vaddr: 0x10FFFF00, paddr: 0x10FFFF00, data: text}})
		}, FamilyRP2040},
		{"overlapping segments", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_ARM, []prog{
				{typ: elf.PT_LOAD, vaddr: 0x10000000, paddr: 0x10000000, data: text},
				{typ: elf.PT_LOAD, vaddr: 0x20000000, paddr: 0x10000000 + 299, data: data},
			})
		}, FamilyRP2040},
		{"no loadable content", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_ARM, []prog{{typ: elf.PT_LOAD, vaddr: 0x20000000, paddr: 0x20000000, memsz: 64}})
		}, FamilyRP2040},
		{"RISC-V ELF for an Arm family", func(t *testing.T) []byte {
			return buildELF(t, elf.EM_RISCV, []prog{{typ: elf.PT_LOAD, vaddr: 0x10000000, paddr: 0x10000000, data: text}})
		}, FamilyRP2350ARMS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := FromELF(tc.elf(t), tc.family); err == nil {
				t.Fatalf("FromELF gave %d bytes, want error", len(out))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good, err := FromELF(sdkLikeELF(t), FamilyRP2040)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	set := func(block, off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { le.PutUint32(b[block*BlockSize+off:], v); return b }
	}
	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"magic 0", set(0, 0, 0x0A324656)},
		{"magic 1", set(1, 4, 0)},
		{"end magic", set(1, 508, 0x0AB16F31)},
		{"flags without family", set(0, 8, 0)},
		{"flags not main flash", set(0, 8, FlagFamilyIDPresent|1)},
		{"address outside flash", set(1, 12, 0x20000000)},
		{"address at end of flash", set(1, 12, FlashEnd)},
		{"address unaligned", set(1, 12, 0x10000180)},
		{"address twice", set(1, 12, 0x10000000)},
		{"payload size 476", set(0, 16, 476)},
		{"payload size 0", set(1, 16, 0)},
		{"block number swapped", func(b []byte) []byte { le.PutUint32(b[20:], 1); le.PutUint32(b[BlockSize+20:], 0); return b }},
		{"block number gap", set(1, 20, 2)},
		{"numBlocks inconsistent", set(1, 24, 3)},
		{"numBlocks both wrong", func(b []byte) []byte { le.PutUint32(b[24:], 3); le.PutUint32(b[BlockSize+24:], 3); return b }},
		{"second family", set(1, 28, FamilyRP2350ARMS)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.mutate(bytes.Clone(good))
			img, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse accepted it: %d pages", len(img.Pages))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
	// The last page of flash is allowed.
	if _, err := Parse(set(1, 12, FlashEnd-PayloadSize)(bytes.Clone(good))); err != nil {
		t.Errorf("last flash page rejected: %v", err)
	}
}

func TestVerifyMismatch(t *testing.T) {
	elfBytes := sdkLikeELF(t)
	for _, tc := range []struct {
		name   string
		mutate func(img *Image)
	}{
		{"changed byte", func(img *Image) { img.Pages[0x10000100][43] ^= 1 }},
		{"changed padding", func(img *Image) { img.Pages[0x10000100][255] = 0xFF }},
		{"missing page", func(img *Image) { delete(img.Pages, 0x10000000) }},
		{"extra page", func(img *Image) { img.Pages[0x10000200] = make([]byte, 256) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := ImageFromELF(elfBytes, FamilyRP2040)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(img)
			if err := Verify(img, elfBytes); err == nil {
				t.Fatal("Verify accepted a mismatching image")
			}
		})
	}
}

// TestFirmwareImages checks the UF2 files the firmware build produced against their ELF
// files. `make test` sets PICO_HSM_FIRMWARE_DIR to the directory holding rp2040/ and
// rp2350/.
func TestFirmwareImages(t *testing.T) {
	dir := os.Getenv("PICO_HSM_FIRMWARE_DIR")
	if dir == "" {
		t.Skip("PICO_HSM_FIRMWARE_DIR is not set; set it to the firmware build directory (make test does) to check the real pico_hsm.uf2 files")
	}
	for _, board := range []struct {
		name   string
		family uint32
	}{
		{"rp2040", FamilyRP2040},
		{"rp2350", FamilyRP2350ARMS},
	} {
		t.Run(board.name, func(t *testing.T) {
			elfBytes, err := os.ReadFile(filepath.Join(dir, board.name, "pico_hsm.elf"))
			if err != nil {
				t.Fatal(err)
			}
			uf2Bytes, err := os.ReadFile(filepath.Join(dir, board.name, "pico_hsm.uf2"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Parse(uf2Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if img.Family != board.family {
				t.Errorf("family %08x, want %08x", img.Family, board.family)
			}
			if err := Verify(img, elfBytes); err != nil {
				t.Error(err)
			}
		})
	}
}
