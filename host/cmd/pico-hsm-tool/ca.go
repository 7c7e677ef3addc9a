package main

// A CA of one's own (pico-hsm-extensions.md 5.1, 5.3), entirely offline: ca init makes a root
// (CVCA) and an intermediate (DV) in a directory the user keeps; ca issue turns a device's
// request (its self-signed certificate, the first one of EF.C_DevAut) into the chain
// device certificate || DV certificate; ca install writes such a chain into 2F02; ca enrol
// does issue and install in one step with the device in the reader.
//
// Directory: root.cvc, dv.cvc (certificates), root.key, dv.key (private keys, cakey.go).
// Names: <prefix>CA00001 and <prefix>DV00001, the TR-03110 layout country | mnemonic | role |
// sequence. Every certificate carries its domain parameters (OpenSC needs them in 2F02).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
)

const (
	caRootCert = "root.cvc"
	caRootKey  = "root.key"
	caDVCert   = "dv.cvc"
	caDVKey    = "dv.key"
)

// now is the clock of certificate dates and chain checks; tests replace it.
var now = time.Now

func today() time.Time { return now().UTC().Truncate(24 * time.Hour) }

func caPassphrase(s *secretReader, v string) ([]byte, error) {
	if v == "" {
		return nil, usagef("missing --passphrase")
	}
	p, err := s.value("passphrase", v)
	if err != nil {
		return nil, err
	}
	if len(p) < minPassLen {
		return nil, usagef("the passphrase must have at least %d characters", minPassLen)
	}
	return p, nil
}

func checkPrefix(p string) error {
	if len(p) < 2 || len(p) > 9 {
		return usagef("--name must have 2..9 characters (the names are NAME + CA00001), got %q", p)
	}
	for _, ch := range p {
		if !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return usagef("--name must be upper-case letters and digits, got %q", p)
		}
	}
	return nil
}

func cmdCAInit(args []string, stdout io.Writer) error {
	fs := newFlagSet("ca init")
	dir := fs.String("dir", "", "create the CA in `DIR` (must not hold a CA yet)")
	prefix := fs.String("name", "ZZPICO", "name `PREFIX`: country code and mnemonic")
	years := fs.Int("years", 30, "validity of the root and DV certificates in `N` years")
	pass := fs.String("passphrase", "", "passphrase of the private keys (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("missing --dir")
	}
	if err := checkPrefix(*prefix); err != nil {
		return err
	}
	if *years < 1 || *years > 70 {
		return usagef("--years must be 1..70")
	}
	p, err := caPassphrase(&secretReader{}, *pass)
	if err != nil {
		return err
	}
	for _, f := range []string{caRootCert, caRootKey, caDVCert, caDVKey} {
		if _, err := os.Stat(filepath.Join(*dir, f)); err == nil {
			return fmt.Errorf("%s already holds a CA (%s): not overwritten", *dir, f)
		}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	eff := today()
	exp := eff.AddDate(*years, 0, 0)
	if exp.Year() > 2099 {
		exp = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	rootName, dvName := *prefix+"CA00001", *prefix+"DV00001"
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	dvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	rootPub, _ := cvc.ECPublicKey(&rootKey.PublicKey)
	dvPub, _ := cvc.ECPublicKey(&dvKey.PublicKey)
	root, err := cvc.Issue(cvc.Template{CAR: rootName, CHR: rootName, Key: rootPub, WithDomain: true,
		Access: cvc.AccessCA, Effective: eff, Expiry: exp}, rootKey)
	if err != nil {
		return err
	}
	dv, err := cvc.Issue(cvc.Template{CAR: rootName, CHR: dvName, Key: dvPub, WithDomain: true,
		Access: cvc.AccessDV, Effective: eff, Expiry: exp}, rootKey)
	if err != nil {
		return err
	}
	rk, err := sealCAKey(rootKey, rootName, p)
	if err != nil {
		return err
	}
	dk, err := sealCAKey(dvKey, dvName, p)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{caRootKey, rk, 0o600}, {caDVKey, dk, 0o600}, {caRootCert, root, 0o644}, {caDVCert, dv, 0o644}} {
		if err := writeFileAtomicMode(filepath.Join(*dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "CA created in %s: root %s, DV %s (P-256), valid %s..%s\n", *dir, rootName, dvName,
		eff.Format(time.DateOnly), exp.Format(time.DateOnly))
	return nil
}

// loadedCA is a CA directory with the DV key decrypted.
type loadedCA struct {
	root, dv *cvc.Certificate
	dvKey    *ecdsa.PrivateKey
}

func readCVC(path string) (*cvc.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := cvc.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func loadCA(dir string, pass []byte) (*loadedCA, error) {
	var ca loadedCA
	var err error
	if ca.root, err = readCVC(filepath.Join(dir, caRootCert)); err != nil {
		return nil, err
	}
	if ca.dv, err = readCVC(filepath.Join(dir, caDVCert)); err != nil {
		return nil, err
	}
	if _, err := cvc.VerifyChain([]*cvc.Certificate{ca.dv}, ca.root, now()); err != nil {
		return nil, fmt.Errorf("CA in %s: %w", dir, err)
	}
	kf, err := os.ReadFile(filepath.Join(dir, caDVKey))
	if err != nil {
		return nil, err
	}
	if ca.dvKey, err = openCAKey(kf, ca.dv.CHR, pass); err != nil {
		return nil, fmt.Errorf("%s: %w", caDVKey, err)
	}
	if pub, _ := cvc.ECPublicKey(&ca.dvKey.PublicKey); pub == nil || string(pub.Point) != string(ca.dv.PublicKey.Point) {
		return nil, fmt.Errorf("%s does not belong to %s", caDVKey, caDVCert)
	}
	return &ca, nil
}

// issue checks the device's request — the first certificate of its 2F02: self-signed (proof
// that the device holds the key), or already issued by this CA (re-enrolment) — and returns
// the chain device certificate || DV certificate.
func (ca *loadedCA) issue(request []byte) ([]byte, *cvc.Certificate, error) {
	certs, err := cvc.ParseAll(request)
	if err != nil {
		return nil, nil, fmt.Errorf("device request: %w", err)
	}
	req := certs[0]
	key := req.PublicKey
	switch {
	case req.CAR == req.CHR:
		if err := req.VerifySelfSigned(); err != nil {
			return nil, nil, fmt.Errorf("device request %s: %w", req.CHR, err)
		}
	case req.CAR == ca.dv.CHR:
		if key, err = cvc.VerifyChain([]*cvc.Certificate{req, ca.dv}, ca.root, time.Time{}); err != nil {
			return nil, nil, fmt.Errorf("device certificate %s: %w", req.CHR, err)
		}
	default:
		return nil, nil, fmt.Errorf("device certificate %s is issued by %s: neither self-signed nor from this CA", req.CHR, req.CAR)
	}
	if len(req.CHR) < 8 {
		return nil, nil, fmt.Errorf("device name %q: OpenSC needs at least 8 characters", req.CHR)
	}
	dev, err := cvc.Issue(cvc.Template{CAR: ca.dv.CHR, CHR: req.CHR, Key: key, WithDomain: true,
		Access: cvc.AccessTerminal, Effective: today(), Expiry: ca.dv.Expiry}, ca.dvKey)
	if err != nil {
		return nil, nil, err
	}
	devCert, err := cvc.Parse(dev)
	if err != nil {
		return nil, nil, err
	}
	return append(dev, ca.dv.Raw...), devCert, nil
}

func cmdCAIssue(args []string, stdout io.Writer) error {
	fs := newFlagSet("ca issue")
	dir := fs.String("dir", "", "the CA's `DIR`")
	pass := fs.String("passphrase", "", "passphrase of the DV key (- reads it from standard input)")
	out := fs.String("o", "", "write the chain to `FILE`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" || *out == "" || len(pos) != 1 {
		return usagef("want --dir, -o and the device's request file (its 2F02)")
	}
	req, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	p, err := caPassphrase(&secretReader{}, *pass)
	if err != nil {
		return err
	}
	ca, err := loadCA(*dir, p)
	if err != nil {
		return err
	}
	chain, dev, err := ca.issue(req)
	if err != nil {
		return err
	}
	if err := writeFileAtomicMode(*out, chain, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "issued %s <- %s <- %s\n", dev.CHR, ca.dv.CHR, ca.root.CHR)
	return nil
}

// install writes chain into 2F02 and checks what the device then shows.
func installChain(ctx context.Context, c *hsm.Client, chain []byte, root *cvc.Certificate, stdout io.Writer) error {
	if err := c.InstallDeviceChain(ctx, chain); err != nil {
		if errors.Is(err, apdu.ErrConditions) {
			return fmt.Errorf("%w (the chain is not for this device's key and name)", err)
		}
		return err
	}
	got, err := c.DeviceChain(ctx)
	if err != nil {
		return err
	}
	if _, err := cvc.VerifyChain(got, root, now()); err != nil {
		return fmt.Errorf("installed chain: %w", err)
	}
	names := make([]string, 0, len(got)+1)
	for _, g := range got {
		names = append(names, g.CHR)
	}
	names = append(names, root.CHR)
	fmt.Fprintf(stdout, "device %s (serial %s) enrolled: %s\n", got[0].CHR, got[0].CHR[:len(got[0].CHR)-5],
		strings.Join(names, " <- "))
	return nil
}

func cmdCAInstall(args []string, stdout io.Writer) error {
	fs := newFlagSet("ca install")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "user PIN (- reads it from standard input)")
	dir := fs.String("dir", "", "the CA's `DIR` (for its root certificate)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" || *pin == "" || len(pos) != 1 {
		return usagef("want --dir, --pin and the chain file")
	}
	chain, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	root, err := readCVC(filepath.Join(*dir, caRootCert))
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		return installChain(ctx, c, chain, root, stdout)
	})
}

func cmdCAEnrol(args []string, stdout io.Writer) error {
	fs := newFlagSet("ca enrol")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "user PIN (- reads it from standard input)")
	dir := fs.String("dir", "", "the CA's `DIR`")
	pass := fs.String("passphrase", "", "passphrase of the DV key (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *dir == "" || *pin == "" {
		return usagef("want --dir, --pin and --passphrase")
	}
	s := &secretReader{}
	p, err := s.userPIN("pin", *pin)
	if err != nil {
		return err
	}
	pp, err := caPassphrase(s, *pass)
	if err != nil {
		return err
	}
	ca, err := loadCA(*dir, pp)
	if err != nil {
		return err
	}
	return withLogin(*reader, "", func(ctx context.Context, c *hsm.Client) error {
		if err := c.Verify(ctx, hsm.UserPIN, p); err != nil {
			return err
		}
		req, err := c.ReadFile(ctx, hsm.FIDDevAut)
		if err != nil {
			return err
		}
		chain, _, err := ca.issue(req)
		if err != nil {
			return err
		}
		return installChain(ctx, c, chain, ca.root, stdout)
	})
}
