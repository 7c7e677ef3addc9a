// Package uf2 converts firmware ELF files to UF2, the format the RP2040 and RP2350 boot
// ROMs accept on their USB mass-storage drive, and checks UF2 files.
//
// A UF2 file is a sequence of 512-byte blocks, all fields little-endian:
//
//	offset  size  field
//	0       4     magic 0A324655
//	4       4     magic 9E5D5157
//	8       4     flags (this package writes and accepts only 00002000: family ID present)
//	12      4     target address (256-aligned, inside flash 10000000..10FFFFFF)
//	16      4     payload size (always 256: the boot ROMs program whole 256-byte pages)
//	20      4     block number, 0..numBlocks-1 in file order
//	24      4     numBlocks
//	28      4     family ID (E48BFF56 RP2040, E48BFF59 RP2350 Arm secure)
//	32      476   data area: the payload, then zeros
//	508     4     magic 0AB16F30
package uf2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Block layout constants.
const (
	BlockSize   = 512
	DataSize    = 476 // data area of a block
	PayloadSize = 256 // bytes of payload per block, one flash page

	MagicStart0 uint32 = 0x0A324655
	MagicStart1 uint32 = 0x9E5D5157
	MagicEnd    uint32 = 0x0AB16F30

	FlagFamilyIDPresent uint32 = 0x00002000
)

// Family IDs of the Raspberry Pi microcontrollers.
const (
	FamilyRP2040      uint32 = 0xE48BFF56
	FamilyRP2350ARMS  uint32 = 0xE48BFF59 // RP2350, Arm cores, secure image
	FamilyRP2350RISCV uint32 = 0xE48BFF5A
)

// The XIP flash window of RP2040 and RP2350: the only place a UF2 may write.
const (
	FlashStart uint32 = 0x10000000
	FlashEnd   uint32 = 0x11000000 // exclusive
)

// FamilyName returns a short name for a known family ID ("rp2040", "rp2350-arm-s",
// "rp2350-riscv"), or the ID in hex.
func FamilyName(id uint32) string {
	switch id {
	case FamilyRP2040:
		return "rp2040"
	case FamilyRP2350ARMS:
		return "rp2350-arm-s"
	case FamilyRP2350RISCV:
		return "rp2350-riscv"
	}
	return fmt.Sprintf("%08x", id)
}

// Image is the content of a UF2 file: one family and the flash pages it writes.
type Image struct {
	Family uint32
	// Pages maps the 256-aligned flash address of each page to its 256 bytes.
	Pages map[uint32][]byte
}

// Range is a run of consecutive pages, [Start, End).
type Range struct {
	Start, End uint32
}

// Addresses returns the page addresses of img in increasing order.
func (img *Image) Addresses() []uint32 {
	addrs := make([]uint32, 0, len(img.Pages))
	for a := range img.Pages {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	return addrs
}

// Ranges returns the address ranges img writes, merged where pages are adjacent.
func (img *Image) Ranges() []Range {
	var rs []Range
	for _, a := range img.Addresses() {
		if n := len(rs); n > 0 && rs[n-1].End == a {
			rs[n-1].End += PayloadSize
			continue
		}
		rs = append(rs, Range{a, a + PayloadSize})
	}
	return rs
}

// Bytes encodes img as a UF2 file, pages in increasing address order.
func (img *Image) Bytes() []byte {
	addrs := img.Addresses()
	out := make([]byte, len(addrs)*BlockSize)
	for i, a := range addrs {
		b := out[i*BlockSize : (i+1)*BlockSize]
		le := binary.LittleEndian
		le.PutUint32(b[0:], MagicStart0)
		le.PutUint32(b[4:], MagicStart1)
		le.PutUint32(b[8:], FlagFamilyIDPresent)
		le.PutUint32(b[12:], a)
		le.PutUint32(b[16:], PayloadSize)
		le.PutUint32(b[20:], uint32(i))
		le.PutUint32(b[24:], uint32(len(addrs)))
		le.PutUint32(b[28:], img.Family)
		copy(b[32:32+PayloadSize], img.Pages[a])
		le.PutUint32(b[508:], MagicEnd)
	}
	return out
}

// ErrInvalid is wrapped by every error Parse returns for a malformed file.
var ErrInvalid = errors.New("uf2: invalid file")

// Parse decodes a UF2 file and checks every block: both start magics and the end magic,
// flags exactly "family ID present", payload size 256, block numbers 0..n-1 in order with
// the same numBlocks n everywhere, one family ID, and 256-aligned target addresses inside
// flash, each written once.
func Parse(b []byte) (*Image, error) {
	if len(b) == 0 || len(b)%BlockSize != 0 {
		return nil, fmt.Errorf("%w: size %d is not a positive multiple of %d", ErrInvalid, len(b), BlockSize)
	}
	le := binary.LittleEndian
	n := len(b) / BlockSize
	img := &Image{Pages: make(map[uint32][]byte, n)}
	for i := 0; i < n; i++ {
		blk := b[i*BlockSize : (i+1)*BlockSize]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: block %d: %s", ErrInvalid, i, fmt.Sprintf(format, args...))
		}
		if le.Uint32(blk[0:]) != MagicStart0 || le.Uint32(blk[4:]) != MagicStart1 || le.Uint32(blk[508:]) != MagicEnd {
			return nil, bad("bad magic")
		}
		if f := le.Uint32(blk[8:]); f != FlagFamilyIDPresent {
			return nil, bad("flags %08x, want %08x", f, FlagFamilyIDPresent)
		}
		addr := le.Uint32(blk[12:])
		if size := le.Uint32(blk[16:]); size != PayloadSize {
			return nil, bad("payload size %d, want %d", size, PayloadSize)
		}
		if no := le.Uint32(blk[20:]); no != uint32(i) {
			return nil, bad("block number %d", no)
		}
		if total := le.Uint32(blk[24:]); total != uint32(n) {
			return nil, bad("numBlocks %d, file has %d blocks", total, n)
		}
		fam := le.Uint32(blk[28:])
		if i == 0 {
			img.Family = fam
		} else if fam != img.Family {
			return nil, bad("family %08x, block 0 has %08x", fam, img.Family)
		}
		if addr%PayloadSize != 0 || addr < FlashStart || addr > FlashEnd-PayloadSize {
			return nil, bad("target address %08x is not a 256-aligned flash page", addr)
		}
		if _, dup := img.Pages[addr]; dup {
			return nil, bad("address %08x written twice", addr)
		}
		img.Pages[addr] = blk[32 : 32+PayloadSize : 32+PayloadSize]
	}
	return img, nil
}
