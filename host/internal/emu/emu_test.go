package emu

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	plain := filepath.Join(dir, "plain")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(plain, nil, 0o644)
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name    string
		env     string
		cands   []string
		want    string
		wantErr error // matched with errors.Is
		anyErr  bool
	}{
		{name: "first existing candidate", cands: []string{missing, plain, exe}, want: exe},
		{name: "none", cands: []string{missing, plain}, wantErr: ErrNotFound},
		{name: "no candidates", wantErr: ErrNotFound},
		{name: "env wins", env: exe, cands: []string{missing}, want: exe},
		{name: "env must exist", env: missing, cands: []string{exe}, anyErr: true},
		{name: "env must be executable", env: plain, cands: []string{exe}, anyErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinary, tc.env)
			got, err := Find(tc.cands...)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "make emu") {
					t.Fatalf("Find error = %v, want %v mentioning make emu", err, tc.wantErr)
				}
			case tc.anyErr:
				if err == nil {
					t.Fatalf("Find = %q, want an error", got)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("Find = %q, %v; want %q", got, err, tc.want)
				}
			}
		})
	}
}

func TestFindUpward(t *testing.T) {
	t.Setenv(EnvBinary, "")
	root := t.TempDir()
	bin := filepath.Join(root, RelPath)
	os.MkdirAll(filepath.Dir(bin), 0o755)
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	deep := filepath.Join(root, "host", "cmd", "x")
	os.MkdirAll(deep, 0o755)
	got, err := FindUpward(deep)
	if err != nil || got != bin {
		t.Fatalf("FindUpward = %q, %v; want %q", got, err, bin)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"abc", "defgh", "ijk", "0123456789"} {
		b.Write([]byte(s))
	}
	if got := b.String(); got != "23456789" {
		t.Fatalf("tail = %q", got)
	}
}

func TestSanitizerReport(t *testing.T) {
	tests := []struct {
		name, output, want string
	}{
		{"clean", "pico-hsm-emu: connected to the vpcd reader\n", ""},
		{"asan", "pico-hsm-emu: connected\n==1==ERROR: AddressSanitizer: heap-buffer-overflow\n#0 x\n", "ERROR: AddressSanitizer: heap-buffer-overflow\n#0 x\n"},
		{"lsan", "==2==ERROR: LeakSanitizer: detected memory leaks\n", "ERROR: LeakSanitizer: detected memory leaks\n"},
		{"ubsan", "core/src/tlv.c:10:5: runtime error: shift exponent 40\n", "runtime error: shift exponent 40\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Process{out: &tailBuffer{max: 1 << 10}}
			p.out.Write([]byte(tc.output))
			if got := p.SanitizerReport(); got != tc.want {
				t.Errorf("SanitizerReport() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRecorder(t *testing.T) {
	tests := []struct {
		name  string
		apdus [][]byte
		want  []byte // nil: no file
	}{
		{"nothing sent", nil, nil},
		{"two APDUs", [][]byte{{0x00, 0x84, 0x00, 0x00, 0x08}, {0x00, 0xA4}},
			[]byte{0x00, 0x00, 0x05, 0x00, 0x84, 0x00, 0x00, 0x08, 0x00, 0x02, 0x00, 0xA4}},
		{"an APDU past the limit is left out", [][]byte{{0x01}, make([]byte, CorpusMax)},
			[]byte{0x00, 0x00, 0x01, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &recorder{dir: dir, buf: []byte{0x00}}
			for _, a := range tc.apdus {
				r.add(a)
			}
			if err := r.flush(); err != nil {
				t.Fatal(err)
			}
			files, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(files) != 0 {
					t.Fatalf("%d files written, want none", len(files))
				}
				return
			}
			if len(files) != 1 {
				t.Fatalf("%d files written, want 1", len(files))
			}
			got, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("seed % X, want % X", got, tc.want)
			}
		})
	}
}
