package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// claRecorder notes the CLA of every APDU that reaches the card.
type claRecorder struct {
	transport.Transport
	cla *[]byte
}

func (r claRecorder) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	*r.cla = append(*r.cla, b[0])
	return r.Transport.Transmit(ctx, b)
}

// --secure: key generation and signing run protected after the PIN (every APDU after the
// VERIFY and the channel set-up has CLA 0C/8C); the signature verifies with crypto/ecdsa.
func TestSecureFlag(t *testing.T) {
	use := twoEmulators(t)
	use(0)
	mustRun(t, "init", "--so-pin", so, "--pin", pin)
	var cla []byte
	plain := openReader
	openReader = func(n string) (transport.Transport, error) {
		tr, err := plain(n)
		return claRecorder{tr, &cla}, err
	}
	mustRun(t, "--secure", "keys", "generate", "--pin", pin, "--id", "1", "--type", "ec:secp256r1")
	protected := 0
	for _, c := range cla {
		if c == 0x0C || c == 0x8C {
			protected++
		}
	}
	if protected == 0 || (cla[len(cla)-1] != 0x0C && cla[len(cla)-1] != 0x8C) {
		t.Errorf("--secure keys generate sent CLAs %X: nothing protected", cla)
	}
	in := filepath.Join(t.TempDir(), "msg")
	msg := []byte("signed inside a secure channel")
	if err := os.WriteFile(in, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	cla = nil
	sig := mustRun(t, "--secure", "sign", "--pin", pin, "--id", "1", "--alg", "ecdsa-sha256", "-i", in)
	if cla[len(cla)-1] != 0x8C {
		t.Errorf("SIGN went out with CLA %02X, want 8C", cla[len(cla)-1])
	}
	tr, _ := plain("")
	cl := hsm.New(tr)
	ctx := context.Background()
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	pub, err := cl.ReadPublicKey(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], []byte(sig)) {
		t.Error("signature made with --secure does not verify")
	}
	// Without a PIN nothing is protected, and the command still works.
	cla = nil
	mustRun(t, "--secure", "random", "8")
	for _, c := range cla {
		if c&0x0C != 0 {
			t.Errorf("random with --secure but no PIN sent CLA %02X", c)
		}
	}
	if code, _ := runTool(t, "--secure"); code != 2 {
		t.Errorf("--secure alone: exit %d, want 2", code)
	}
}
