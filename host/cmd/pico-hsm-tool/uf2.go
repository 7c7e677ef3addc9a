package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pico-hsm/pico-hsm/host/uf2"
)

// families maps the --family names to UF2 family IDs.
var families = map[string]uint32{
	"rp2040": uf2.FamilyRP2040,
	"rp2350": uf2.FamilyRP2350ARMS,
}

// cmdUF2 converts an ELF file to UF2 and writes it atomically.
func cmdUF2(args []string, _ io.Writer) error {
	fs := newFlagSet("uf2")
	family := fs.String("family", "", "target chip: rp2040 or rp2350")
	out := fs.String("o", "", "output UF2 file")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one input ELF file, got %d", len(pos))
	}
	if *out == "" {
		return usagef("missing -o OUT.uf2")
	}
	id, ok := families[*family]
	if !ok {
		return usagef("--family must be rp2040 or rp2350, got %q", *family)
	}
	in := pos[0]
	elfBytes, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	img, err := uf2.FromELF(elfBytes, id)
	if err != nil {
		return fmt.Errorf("convert %s: %w", in, err)
	}
	return writeFileAtomic(*out, img)
}

// cmdUF2Info validates a UF2 file and prints its family, block count and address ranges.
func cmdUF2Info(args []string, stdout io.Writer) error {
	fs := newFlagSet("uf2-info")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one UF2 file, got %d", len(pos))
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	img, err := uf2.Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	fmt.Fprintf(stdout, "file:    %s\n", pos[0])
	fmt.Fprintf(stdout, "family:  %s (0x%08x)\n", uf2.FamilyName(img.Family), img.Family)
	fmt.Fprintf(stdout, "blocks:  %d (all valid)\n", len(img.Pages))
	for _, r := range img.Ranges() {
		fmt.Fprintf(stdout, "range:   0x%08x-0x%08x (%d bytes)\n", r.Start, r.End, r.End-r.Start)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to path and renames it over path,
// so that path holds either its old content or all of data.
func writeFileAtomic(path string, data []byte) error {
	return writeFileAtomicMode(path, data, 0o644)
}

// writeFileAtomicMode is writeFileAtomic with the file mode given.
func writeFileAtomicMode(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
