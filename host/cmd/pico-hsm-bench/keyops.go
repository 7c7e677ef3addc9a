package main

// Key operations for --op keygen|sign|decrypt|ecdh: the APDUs OpenSC sends (smartcard-hsm-core.md
// 2.11-2.13, 5.9-5.13), built here so the benchmark depends only on the wire format.
//
//	keygen   00 46 <id> 00 <CV body content: 5F29, 42, 7F49 template, 5F20>    (2.11.1)
//	sign     80 68 <id> <alg> <input> 0200; RSA: alg 20 with a PKCS#1 v1.5 block,
//	         EC: alg 70 with a SHA-256 hash (2.12.2)
//	decrypt  80 62 <id> 21 <ciphertext> 0200                                     (2.13)
//	ecdh     80 62 <id> 80 <04 || x || y> 0200                                    (2.13)
//
// A benchmark key lives in the lowest free key slot (ENUMERATE OBJECTS, 2.5) and is deleted
// (DELETE FILE CCxx, 2.4) at the end. It has no C4/CE files, so OpenSC never sees it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// Instruction bytes (2.0).
const (
	insGenerate byte = 0x46
	insSign     byte = 0x68
	insDecipher byte = 0x62
)

// Algorithm identifiers (2.12.1, 2.13).
const (
	algRSARaw        byte = 0x20
	algRSADecryptRaw byte = 0x21
	algECDSA         byte = 0x70
	algECDH          byte = 0x80
)

// The CV body OpenSC sends: CAR "UTCA00001"; the CHR is the serial followed by "00001".
const (
	gakpCAR = "UTCA00001"
	gakpCHR = "BENCH00001"
)

// Spec 3.7.2.
var (
	oidRSAv15SHA256 = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02}
	oidECDSASHA256  = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03}
)

// DigestInfo prefix of SHA-256 (2.12.3).
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// keySpec is a --key value: rsa:<bits> or ec:<curve>.
type keySpec struct {
	rsaBits int
	curve   *cvc.Curve
}

func (k keySpec) String() string {
	if k.curve != nil {
		return "EC " + k.curve.Name
	}
	return fmt.Sprintf("RSA-%d", k.rsaBits)
}

// parseKeySpec reads rsa:1024..4096 or ec:<name> with a curve of the cvc table (Weierstrass
// curves only; X25519/X448 have their own GAKP template).
func parseKeySpec(s string) (keySpec, error) {
	kind, arg, ok := strings.Cut(s, ":")
	switch {
	case ok && strings.EqualFold(kind, "rsa"):
		bits, err := strconv.Atoi(arg)
		if err != nil || bits < 1024 || bits > 4096 || bits%8 != 0 {
			return keySpec{}, fmt.Errorf("--key %q: RSA size must be a multiple of 8 in 1024..4096", s)
		}
		return keySpec{rsaBits: bits}, nil
	case ok && strings.EqualFold(kind, "ec"):
		c := cvc.CurveByName(arg)
		if c == nil {
			// OpenSSL's names for the NIST curves.
			switch strings.ToLower(arg) {
			case "prime192v1", "p-192", "p192":
				c = cvc.CurveByName("secp192r1")
			case "prime256v1", "p-256", "p256":
				c = cvc.CurveByName("secp256r1")
			case "p-384", "p384":
				c = cvc.CurveByName("secp384r1")
			case "p-521", "p521":
				c = cvc.CurveByName("secp521r1")
			}
		}
		if c == nil || c.Montgomery {
			var names []string
			for _, c := range cvc.Curves() {
				if !c.Montgomery {
					names = append(names, c.Name)
				}
			}
			return keySpec{}, fmt.Errorf("--key %q: unknown curve (one of %s)", s, strings.Join(names, ", "))
		}
		return keySpec{curve: c}, nil
	}
	return keySpec{}, fmt.Errorf("--key %q: want rsa:<bits> or ec:<curve>", s)
}

// gakpData is the command data of GENERATE ASYMMETRIC KEY PAIR as OpenSC encodes it (2.11.1),
// with certificate holder reference chr.
func gakpData(k keySpec, chr string) []byte {
	var tpl []byte
	if k.curve == nil {
		tpl = tlv.Append(tpl, 0x06, oidRSAv15SHA256)
		tpl = tlv.Append(tpl, 0x82, []byte{0x01, 0x00, 0x01})
		tpl = tlv.Append(tpl, 0x02, []byte{byte(k.rsaBits >> 8), byte(k.rsaBits)})
	} else {
		c := k.curve
		tpl = tlv.Append(tpl, 0x06, oidECDSASHA256)
		tpl = tlv.Append(tpl, 0x81, c.P)
		tpl = tlv.Append(tpl, 0x82, c.A)
		tpl = tlv.Append(tpl, 0x83, c.B)
		tpl = tlv.Append(tpl, 0x84, c.G)
		tpl = tlv.Append(tpl, 0x85, c.N)
		tpl = tlv.Append(tpl, 0x87, []byte{0x01})
	}
	d := tlv.Encode(0x5F29, []byte{0x00})
	d = tlv.Append(d, 0x42, []byte(gakpCAR))
	d = tlv.Append(d, 0x7F49, tpl)
	return tlv.Append(d, 0x5F20, []byte(chr))
}

// pkcs1Block is the EMSA-PKCS1-v1_5 block OpenSC sends with alg 20: 00 01 FF..FF 00 DigestInfo.
func pkcs1Block(modLen int, digest []byte) []byte {
	di := append(append([]byte{}, digestInfoSHA256...), digest...)
	b := make([]byte, modLen)
	b[1] = 0x01
	for i := 2; i < modLen-len(di)-1; i++ {
		b[i] = 0xFF
	}
	copy(b[modLen-len(di):], di)
	return b
}

// card is a logged-in client with one benchmark key slot.
type card struct {
	c  *hsm.Client
	id byte // key number of the benchmark key
}

// login selects the application and verifies the user PIN. With initialize set (a fresh
// emulator) an uninitialised device is initialised first with pin and soPIN.
func login(ctx context.Context, c *hsm.Client, pin, soPIN []byte, initialize bool) error {
	if _, err := c.SelectApplet(ctx); err != nil {
		return err
	}
	st, err := c.PINStatus(ctx, hsm.UserPIN)
	if err != nil {
		return err
	}
	if st.State == hsm.PINNotInitialized {
		if !initialize {
			return errors.New("the device is not initialised (sc-hsm-tool --initialize --so-pin ... --pin ...)")
		}
		if err := c.Initialize(ctx, hsm.InitParams{Options: 0x0001, UserPIN: pin, SOPIN: soPIN}); err != nil {
			return err
		}
	}
	if len(pin) == 0 {
		return errors.New("key operations need the user PIN: --pin")
	}
	return c.Verify(ctx, hsm.UserPIN, pin)
}

// freeKeyID returns the lowest key number with no CCxx object, as OpenSC picks it (5.9 G3).
func freeKeyID(ctx context.Context, c *hsm.Client) (byte, error) {
	ids, err := c.ListObjects(ctx)
	if err != nil {
		return 0, err
	}
	used := map[uint16]bool{}
	for _, id := range ids {
		used[id] = true
	}
	for n := 1; n <= 0xFF; n++ {
		if !used[0xCC00|uint16(n)] {
			return byte(n), nil
		}
	}
	return 0, errors.New("no free key slot")
}

// generate sends GAKP and returns the new public key from the authenticated request.
func (k *card) generate(ctx context.Context, data []byte) (*cvc.PublicKey, error) {
	resp, err := k.c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: insGenerate, P1: k.id, Data: data,
		Ne: apdu.MaxExtendedNe, ForceExtended: true})
	if err != nil {
		return nil, fmt.Errorf("generate key %02X: %w", k.id, err)
	}
	req, err := cvc.ParseAuthenticatedRequest(resp)
	if err != nil {
		return nil, fmt.Errorf("generate key %02X: %w", k.id, err)
	}
	return req.Request.PublicKey, nil
}

// deleteKey removes the benchmark key (DELETE FILE CCxx).
func (k *card) deleteKey(ctx context.Context) error {
	return k.c.DeleteFile(ctx, 0xCC00|uint16(k.id))
}

// private sends SIGN or DECIPHER (case 4E with Ne 512, as OpenSC).
func (k *card) private(ctx context.Context, ins, alg byte, in []byte) ([]byte, error) {
	return k.c.Transmit(ctx, apdu.Command{CLA: 0x80, INS: ins, P1: k.id, P2: alg, Data: in, Ne: 512, ForceExtended: true})
}

// operation is one timed key operation and the check of its first answer.
type operation struct {
	name  string
	run   func(ctx context.Context) ([]byte, error)
	check func(out []byte) error
}

// newOperation prepares op for a key pub (sign, decrypt, ecdh).
func newOperation(k *card, op string, pub *cvc.PublicKey) (*operation, error) {
	digest := sha256.Sum256([]byte("pico-hsm-bench"))
	isRSA := pub.Curve == nil
	switch {
	case op == "sign" && isRSA:
		modLen := (pub.N.BitLen() + 7) / 8
		in := pkcs1Block(modLen, digest[:])
		return &operation{
			name: fmt.Sprintf("SIGN alg 20 (raw RSA, PKCS#1 v1.5 block of %d bytes)", modLen),
			run:  func(ctx context.Context) ([]byte, error) { return k.private(ctx, insSign, algRSARaw, in) },
			check: func(sig []byte) error {
				got := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(pub.E)), pub.N)
				if len(sig) != modLen || !bytes.Equal(got.FillBytes(make([]byte, modLen)), in) {
					return fmt.Errorf("RSA signature %X does not verify", sig)
				}
				return nil
			},
		}, nil
	case op == "sign":
		return &operation{
			name: "SIGN alg 70 (ECDSA over a SHA-256 hash)",
			run:  func(ctx context.Context) ([]byte, error) { return k.private(ctx, insSign, algECDSA, digest[:]) },
			check: func(sig []byte) error {
				var rs struct{ R, S *big.Int }
				if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
					return fmt.Errorf("ECDSA signature %X is not DER: %v", sig, err)
				}
				if !pub.VerifyECDSA(digest[:], rs.R, rs.S) {
					return fmt.Errorf("ECDSA signature %X does not verify", sig)
				}
				return nil
			},
		}, nil
	case op == "decrypt" && isRSA:
		modLen := (pub.N.BitLen() + 7) / 8
		m := append([]byte{0x00, 0x02}, bytes.Repeat([]byte{0x5A}, modLen-2)...)
		c := new(big.Int).Exp(new(big.Int).SetBytes(m), big.NewInt(int64(pub.E)), pub.N).FillBytes(make([]byte, modLen))
		return &operation{
			name: fmt.Sprintf("DECIPHER alg 21 (raw RSA, %d-byte ciphertext)", modLen),
			run:  func(ctx context.Context) ([]byte, error) { return k.private(ctx, insDecipher, algRSADecryptRaw, c) },
			check: func(out []byte) error {
				if !bytes.Equal(out, m) {
					return fmt.Errorf("decrypted %X, want %X", out, m)
				}
				return nil
			},
		}, nil
	case op == "ecdh" && !isRSA:
		// The key's own public point as the peer: a valid point of the curve, no host EC code.
		n := pub.Curve.FieldBytes()
		return &operation{
			name: "DECIPHER alg 80 (ECDH with an uncompressed point)",
			run:  func(ctx context.Context) ([]byte, error) { return k.private(ctx, insDecipher, algECDH, pub.Point) },
			check: func(out []byte) error {
				if len(out) != 1+n || out[0] != 0x04 {
					return fmt.Errorf("ECDH answer %X, want 04 || x (%d bytes)", out, 1+n)
				}
				return nil
			},
		}, nil
	}
	return nil, fmt.Errorf("--op %s does not apply to this key", op)
}

// keyBench is one --op run.
type keyBench struct {
	op         string
	spec       keySpec
	n, warmup  int
	pin, soPIN []byte
	initialize bool // a fresh emulator: initialise it if needed
}

// run logs in, prepares the key and times b.n operations after b.warmup untimed ones.
func (b *keyBench) run(ctx context.Context, t transport.Transport, desc string, stdout io.Writer) (err error) {
	c := hsm.New(t)
	if err := login(ctx, c, b.pin, b.soPIN, b.initialize); err != nil {
		return err
	}
	id, err := freeKeyID(ctx, c)
	if err != nil {
		return err
	}
	k := &card{c: c, id: id}
	// The key is removed even when the run is interrupted; ctx may be done by then.
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if derr := k.deleteKey(dctx); derr != nil && !errors.Is(derr, apdu.ErrFileNotFound) && err == nil {
			err = fmt.Errorf("delete benchmark key %02X: %w", id, derr)
		}
	}()
	data := gakpData(b.spec, gakpCHR)

	var what string
	var once func(ctx context.Context) (time.Duration, error)
	if b.op == "keygen" {
		what = fmt.Sprintf("GENERATE ASYMMETRIC KEY PAIR %s into key %02X", b.spec, id)
		once = func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			pub, err := k.generate(ctx, data)
			d := time.Since(start)
			if err != nil {
				return d, err
			}
			if pub == nil || (b.spec.curve == nil) != (pub.Curve == nil) {
				return d, fmt.Errorf("generated key of the wrong type: %+v", pub)
			}
			return d, k.deleteKey(ctx)
		}
	} else {
		pub, err := k.generate(ctx, data)
		if err != nil {
			return err
		}
		o, err := newOperation(k, b.op, pub)
		if err != nil {
			return err
		}
		out, err := o.run(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		if err := o.check(out); err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
		what = fmt.Sprintf("%s, %s key %02X", o.name, b.spec, id)
		once = func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			_, err := o.run(ctx)
			return time.Since(start), err
		}
	}
	for i := 0; i < b.warmup; i++ {
		if _, err := once(ctx); err != nil {
			return fmt.Errorf("warm-up %d: %w", i+1, err)
		}
	}
	samples := make([]time.Duration, b.n)
	for i := range samples {
		if samples[i], err = once(ctx); err != nil {
			return fmt.Errorf("operation %d: %w", i+1, err)
		}
	}
	fmt.Fprintf(stdout, "%s: %d x %s\n", desc, b.n, what)
	fmt.Fprintf(stdout, "latency: %s\n", summarize(samples).Millis())
	return nil
}
