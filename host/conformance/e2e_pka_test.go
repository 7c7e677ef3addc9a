package conformance

// End-to-end (PICO_HSM_E2E=1): public key authentication with 2 of 3 keys through sc-hsm-tool
// (smartcard-hsm-core.md 2.17, pico-hsm-extensions.md 5.6). Two holder emulators are enrolled
// under one offline CA (pico-hsm-tool ca); holder A gets two keys, holder B one, and
// sc-hsm-tool --export-for-pub-key-auth writes each key's registration file. The target
// device, enrolled under the same CA, is re-initialised by sc-hsm-tool with
// --public-key-auth 3 --required-pub-keys 2, and sc-hsm-tool --register-public-key registers
// the three files. Over PC/SC the holders then answer the target's challenge with signatures
// made on their own emulators: with one holder authenticated signing is refused, with two it
// works.

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/internal/emu"
	"github.com/pico-hsm/pico-hsm/host/transport/pcsc"
)

// startE2ECardOn is startE2ECard on a given flash file; the returned function stops the
// emulator and waits until pcscd sees the slot empty.
func startE2ECardOn(t *testing.T, bin, flash string) func() {
	t.Helper()
	ensurePCSCD(t)
	waitSlotFree(t)
	p, err := emu.Start(bin, flash, e2eVPCDAddr)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		if err := p.Stop(emu.StopTimeout); err != nil {
			t.Errorf("emulator did not exit cleanly on SIGTERM: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", p.Output())
		}
	}
	t.Cleanup(stop)
	waitForCard(t, p)
	return stop
}

// withPCSC runs f with a client on the vpcd reader.
func withPCSC(t *testing.T, f func(cl *hsm.Client)) {
	t.Helper()
	tr, err := pcsc.Open(e2eReader)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	f(hsm.New(tr))
}

type e2eHolder struct {
	flash string
	id    byte
	chr   string
	file  string
}

// sign has the holder's own emulator (on a private reader) sign digest with its key: ECDSA
// of the hash, DER from the card, r || s for EXTERNAL AUTHENTICATE.
func (h e2eHolder) sign(t *testing.T, bin string, digest []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := emu.StartCard(ctx, bin, h.flash)
	if err != nil {
		t.Fatal(err)
	}
	defer stopCard(t, c)
	cl := hsm.New(c)
	if _, err := cl.SelectApplet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cl.Verify(ctx, hsm.UserPIN, []byte(e2eKeysPIN)); err != nil {
		t.Fatal(err)
	}
	der, err := cl.Sign(ctx, h.id, hsm.AlgECDSA, digest)
	if err != nil {
		t.Fatalf("holder %s: sign: %v", h.chr, err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	return append(rs.R.FillBytes(make([]byte, 32)), rs.S.FillBytes(make([]byte, 32))...)
}

func TestE2EPKA(t *testing.T) {
	if os.Getenv("PICO_HSM_E2E") != "1" {
		t.Skip("end-to-end tests through pcscd and OpenSC run with PICO_HSM_E2E=1 (make test)")
	}
	bin := emulatorPath(t)
	dir := t.TempDir()
	tool := buildTool(t, dir)
	ca := filepath.Join(dir, "ca")
	const pass = "e2e passphrase"
	rd := e2eReader
	runExit(t, 0, []byte(pass+"\n"), tool, "ca", "init", "--dir", ca, "--name", "ZZE2E", "--passphrase", "-")
	enrol := func() {
		runExit(t, 0, []byte(e2eKeysPIN+"\n"+pass+"\n"), tool, "ca", "enrol", "--dir", ca,
			"--pin", "-", "--passphrase", "-", "--reader", rd)
	}

	// Holders: A with keys 1 and 2, B with key 1, each exported by sc-hsm-tool.
	var holders []e2eHolder
	for _, dev := range []struct {
		name string
		keys []byte
	}{{"A", []byte{1, 2}}, {"B", []byte{1}}} {
		flash := filepath.Join(dir, "holder"+dev.name+".bin")
		stop := startE2ECardOn(t, bin, flash)
		runExit(t, 0, nil, "sc-hsm-tool", "-r", rd, "--initialize", "--so-pin", e2eSO, "--pin", e2eKeysPIN)
		enrol()
		for _, id := range dev.keys {
			h := e2eHolder{flash: flash, id: id, chr: fmt.Sprintf("ZZPKAHOLD%s%05d", dev.name, id),
				file: filepath.Join(dir, fmt.Sprintf("%s%d.pka", dev.name, id))}
			withPCSC(t, func(cl *hsm.Client) {
				ctx := testCtx(t)
				if _, err := cl.SelectApplet(ctx); err != nil {
					t.Fatal(err)
				}
				if err := cl.Verify(ctx, hsm.UserPIN, []byte(e2eKeysPIN)); err != nil {
					t.Fatal(err)
				}
				if _, err := cl.GenerateEC(ctx, id, "secp256r1", hsm.KeyOptions{CHR: h.chr}); err != nil {
					t.Fatal(err)
				}
			})
			runExit(t, 0, nil, "sc-hsm-tool", "-r", rd, "--export-for-pub-key-auth", h.file, "-i", fmt.Sprint(id))
			holders = append(holders, h)
		}
		stop()
	}

	// Target: enrolled under the same CA (its trust store then knows the holders' DV), then
	// re-initialised with PKA 2 of 3; the chain in 2F02 survives re-initialisation.
	startE2ECardOn(t, bin, filepath.Join(dir, "target.bin"))
	runExit(t, 0, nil, "sc-hsm-tool", "-r", rd, "--initialize", "--so-pin", e2eSO, "--pin", e2eKeysPIN)
	enrol()
	runExit(t, 0, nil, "sc-hsm-tool", "-r", rd, "--initialize", "--so-pin", e2eSO, "--pin", e2eKeysPIN,
		"--public-key-auth", "3", "--required-pub-keys", "2")
	status := func(missing, authenticated int) {
		t.Helper()
		out := runExit(t, 0, nil, "sc-hsm-tool", "-r", rd, "--public-key-auth-status")
		for _, want := range []string{"Number of public keys:     3", fmt.Sprintf("Missing public keys:       %d", missing),
			"Required pubkeys for auth: 2", fmt.Sprintf("Authenticated public keys: %d", authenticated)} {
			if !strings.Contains(out, want) {
				t.Fatalf("sc-hsm-tool --public-key-auth-status: want %q in\n%s", want, out)
			}
		}
	}
	status(3, 0)
	for i, h := range holders {
		out := runExit(t, 0, nil, "sc-hsm-tool", "-r", rd, "--register-public-key", h.file)
		if want := fmt.Sprintf("Missing public keys:       %d", 2-i); !strings.Contains(out, want) {
			t.Fatalf("register %s: want %q in\n%s", h.file, want, out)
		}
	}
	status(0, 0)

	withPCSC(t, func(cl *hsm.Client) {
		ctx := testCtx(t)
		for slot, h := range holders {
			chr, auth, err := cl.PKASlot(ctx, byte(slot))
			if err != nil || chr != h.chr || auth {
				t.Fatalf("slot %d: %q %v %v, want %s not authenticated", slot, chr, auth, err, h.chr)
			}
		}
		chain, err := cl.DeviceChain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		devName := chain[0].CHR
		// answer makes holder h answer the current challenge.
		answer := func(h e2eHolder, challenge []byte) {
			t.Helper()
			if err := cl.SelectPKAKey(ctx, h.chr); err != nil {
				t.Fatal(err)
			}
			if err := cl.ExternalAuthenticate(ctx, h.sign(t, bin, hsm.PKADigest(devName, challenge))); err != nil {
				t.Fatalf("holder %s: %v", h.chr, err)
			}
		}
		login := func() {
			t.Helper()
			if _, err := cl.SelectApplet(ctx); err != nil {
				t.Fatal(err)
			}
			if err := cl.Verify(ctx, hsm.UserPIN, []byte(e2eKeysPIN)); err != nil {
				t.Fatal(err)
			}
		}

		// The PIN alone does not allow key generation; A1 and B1 do.
		login()
		if _, err := cl.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{}); !errors.Is(err, apdu.ErrSecurityStatus) {
			t.Fatalf("generate with the PIN alone: %v, want 6982", err)
		}
		ch, err := cl.GetChallenge(ctx, 8)
		if err != nil {
			t.Fatal(err)
		}
		answer(holders[0], ch)
		answer(holders[2], ch)
		g, err := cl.GenerateEC(ctx, 1, "secp256r1", hsm.KeyOptions{})
		if err != nil {
			t.Fatal(err)
		}

		// New session: one holder is not enough to sign, two are.
		login()
		msg := sha256.Sum256([]byte("two of three"))
		if _, err := cl.Sign(ctx, 1, hsm.AlgECDSA, msg[:]); !errors.Is(err, apdu.ErrSecurityStatus) {
			t.Fatalf("sign with the PIN alone: %v, want 6982", err)
		}
		if ch, err = cl.GetChallenge(ctx, 8); err != nil {
			t.Fatal(err)
		}
		answer(holders[1], ch)
		if _, err := cl.Sign(ctx, 1, hsm.AlgECDSA, msg[:]); !errors.Is(err, apdu.ErrSecurityStatus) {
			t.Fatalf("sign with 1 of 2 holders: %v, want 6982", err)
		}
		if st, err := cl.PKAStatus(ctx); err != nil || st.Authenticated != 1 {
			t.Fatalf("status after one holder: %+v %v", st, err)
		}
		answer(holders[2], ch)
		der, err := cl.Sign(ctx, 1, hsm.AlgECDSA, msg[:])
		if err != nil {
			t.Fatalf("sign with 2 of 3 holders: %v", err)
		}
		if !ecdsa.VerifyASN1(g.Public.(*ecdsa.PublicKey), msg[:], der) {
			t.Error("signature does not verify with crypto/ecdsa")
		}
	})
	// A new session (sc-hsm-tool selects the applet) starts with nobody authenticated.
	status(0, 0)
}
