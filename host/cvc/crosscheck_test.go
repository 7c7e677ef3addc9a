package cvc

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// expectedSerial re-implements the serial scheme of firmware/core/include/hsm/devid.h:
// "ZZP" + base32 of the first 40 bits of SHA-256("pico-hsm/devid/serial/v1" || unique ID).
func expectedSerial(uid []byte) string {
	h := sha256.Sum256(append([]byte("pico-hsm/devid/serial/v1"), uid...))
	return "ZZP" + base32.StdEncoding.EncodeToString(h[:5])
}

// TestFirmwareDump parses and verifies the C_DevAut that the firmware's own encoder
// produces (firmware/tests/test_cvc.c --dump). Set PICO_HSM_BUILD_DIR to the CMake build
// root whose emu/ holds test_cvc.
func TestFirmwareDump(t *testing.T) {
	dir := os.Getenv("PICO_HSM_BUILD_DIR")
	if dir == "" {
		t.Skip("PICO_HSM_BUILD_DIR not set: skipping the cross-check with the firmware encoder")
	}
	const uidHex = "0102030405060708"
	out, err := exec.Command(filepath.Join(dir, "emu", "test_cvc"), "--dump", uidHex).Output()
	if err != nil {
		t.Fatalf("test_cvc --dump: %v", err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("hex: %v", err)
	}
	certs, err := ParseAll(raw)
	if err != nil {
		t.Fatalf("ParseAll: %v", err)
	}
	c := certs[0]
	if err := c.VerifySelfSigned(); err != nil {
		t.Fatalf("VerifySelfSigned: %v", err)
	}
	uid, _ := hex.DecodeString(uidHex)
	if want := expectedSerial(uid) + "00001"; c.CHR != want || c.CAR != c.CHR {
		t.Errorf("CHR %q CAR %q, want both %q", c.CHR, c.CAR, want)
	}
	if c.PublicKey.Curve == nil || c.PublicKey.Curve.Name != "secp256r1" || len(c.Signature) != 64 {
		t.Errorf("curve %v, signature %d bytes", c.PublicKey.Curve, len(c.Signature))
	}
	if !c.Effective.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!c.Expiry.Equal(time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("dates %v .. %v", c.Effective, c.Expiry)
	}
	if c.CHAT == nil || len(raw) > 1024 {
		t.Errorf("CHAT %v, %d bytes", c.CHAT, len(raw))
	}
}
