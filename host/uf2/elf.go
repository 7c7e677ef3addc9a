package uf2

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"sort"
)

// segment is the file content of one PT_LOAD segment at its load address.
type segment struct {
	addr uint32
	data []byte
}

// machineFor returns the ELF machine a family's images are built for.
func machineFor(family uint32) (elf.Machine, bool) {
	switch family {
	case FamilyRP2040, FamilyRP2350ARMS:
		return elf.EM_ARM, true
	case FamilyRP2350RISCV:
		return elf.EM_RISCV, true
	}
	return 0, false
}

// loadSegments returns the PT_LOAD segments of a 32-bit little-endian ELF that have
// file content, at their physical (load) address, sorted. The load address is the one
// that counts: a pico-sdk image's .data segment runs from RAM (VMA) but is stored in flash
// (LMA) and copied at boot. Every segment must lie inside flash and none may overlap.
func loadSegments(elfBytes []byte, family uint32) ([]segment, error) {
	f, err := elf.NewFile(bytes.NewReader(elfBytes))
	if err != nil {
		return nil, fmt.Errorf("read elf: %w", err)
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("elf is %v %v, want 32-bit little-endian", f.Class, f.Data)
	}
	if want, ok := machineFor(family); ok && f.Machine != want {
		return nil, fmt.Errorf("elf machine %v does not run on family %s", f.Machine, FamilyName(family))
	}
	var segs []segment
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Filesz == 0 {
			continue
		}
		start, end := p.Paddr, p.Paddr+p.Filesz
		if start < uint64(FlashStart) || end > uint64(FlashEnd) || end < start {
			return nil, fmt.Errorf("segment %d at %08x..%08x is outside flash %08x..%08x (a RAM-only image cannot be a UF2)",
				i, start, end, FlashStart, FlashEnd)
		}
		data, err := io.ReadAll(io.LimitReader(p.Open(), int64(p.Filesz)))
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
		if uint64(len(data)) != p.Filesz {
			return nil, fmt.Errorf("segment %d: file holds %d of its %d bytes", i, len(data), p.Filesz)
		}
		segs = append(segs, segment{uint32(start), data})
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("elf has no loadable segment with content")
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].addr < segs[j].addr })
	for i := 1; i < len(segs); i++ {
		prev := segs[i-1]
		if end := prev.addr + uint32(len(prev.data)); end > segs[i].addr {
			return nil, fmt.Errorf("segments at %08x..%08x and %08x overlap", prev.addr, end, segs[i].addr)
		}
	}
	return segs, nil
}

// imageFromSegments lays segments out on 256-byte pages; bytes no segment covers are 0.
func imageFromSegments(segs []segment, family uint32) *Image {
	img := &Image{Family: family, Pages: make(map[uint32][]byte)}
	for _, s := range segs {
		for off := 0; off < len(s.data); {
			addr := s.addr + uint32(off)
			page := addr &^ (PayloadSize - 1)
			p, ok := img.Pages[page]
			if !ok {
				p = make([]byte, PayloadSize)
				img.Pages[page] = p
			}
			off += copy(p[addr-page:], s.data[off:])
		}
	}
	return img
}

// ImageFromELF returns the flash pages the loadable segments of an ELF file fill.
func ImageFromELF(elfBytes []byte, family uint32) (*Image, error) {
	segs, err := loadSegments(elfBytes, family)
	if err != nil {
		return nil, err
	}
	return imageFromSegments(segs, family), nil
}

// FromELF converts an ELF file to a UF2 file for the given family.
func FromELF(elfBytes []byte, family uint32) ([]byte, error) {
	img, err := ImageFromELF(elfBytes, family)
	if err != nil {
		return nil, err
	}
	return img.Bytes(), nil
}

// Verify checks that img writes exactly the pages the ELF's loadable segments fill, with
// the same bytes (zero padding included).
func Verify(img *Image, elfBytes []byte) error {
	want, err := ImageFromELF(elfBytes, img.Family)
	if err != nil {
		return err
	}
	for _, a := range want.Addresses() {
		got, ok := img.Pages[a]
		if !ok {
			return fmt.Errorf("uf2 lacks page %08x", a)
		}
		if !bytes.Equal(got, want.Pages[a]) {
			for i := range got {
				if got[i] != want.Pages[a][i] {
					return fmt.Errorf("byte at %08x is %02x in the uf2, %02x in the elf", a+uint32(i), got[i], want.Pages[a][i])
				}
			}
		}
	}
	if len(img.Pages) != len(want.Pages) {
		for _, a := range img.Addresses() {
			if _, ok := want.Pages[a]; !ok {
				return fmt.Errorf("uf2 writes page %08x that the elf does not fill", a)
			}
		}
	}
	return nil
}
