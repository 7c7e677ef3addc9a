package main

// XKEK key domains (pico-hsm-extensions.md 4.2, 4.3) from the group manager's side: the
// group signing key (GSK) lives in the CA directory of `ca init`, encrypted like the CA keys
// (cakey.go) under the same passphrase; its certificate is issued by the CA's DV, so a
// device enrolled under that CA can check it with PSO VERIFY CERTIFICATE. A membership (KDM)
// is made only for a device whose 2F02 chain verifies to the CA's root.
//
// Directory additions: gsk.cvc (GSK certificate, CAR = DV), gsk.req (67 { gsk.cvc, 42 DV,
// 5F37 DV signature }: the group key element of every KDM), gsk.key (private key).
// Name: <prefix>GS00001, prefix as the CA's.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

const (
	gskCert = "gsk.cvc"
	gskReq  = "gsk.req"
	gskKey  = "gsk.key"
)

func uidString(uid []byte) string {
	if len(uid) > 8 {
		return hex.EncodeToString(uid[:8]) + "..."
	}
	return hex.EncodeToString(uid)
}

func cmdXKEKGSKNew(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek gsk-new")
	dir := fs.String("dir", "", "the CA's `DIR` (made by ca init)")
	pass := fs.String("passphrase", "", "passphrase of the CA keys (- reads it from standard input)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("missing --dir")
	}
	p, err := caPassphrase(&secretReader{}, *pass)
	if err != nil {
		return err
	}
	ca, err := loadCA(*dir, p)
	if err != nil {
		return err
	}
	for _, f := range []string{gskCert, gskReq, gskKey} {
		if _, err := os.Stat(filepath.Join(*dir, f)); err == nil {
			return fmt.Errorf("%s already holds a group key (%s): not overwritten", *dir, f)
		}
	}
	name := strings.TrimSuffix(ca.root.CHR, "CA00001") + "GS00001"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, _ := cvc.ECPublicKey(&key.PublicKey)
	cert, err := cvc.Issue(cvc.Template{CAR: ca.dv.CHR, CHR: name, Key: pub, WithDomain: true,
		Access: cvc.AccessTerminal, Effective: today(), Expiry: ca.dv.Expiry}, ca.dvKey)
	if err != nil {
		return err
	}
	signed := tlv.Append(append([]byte(nil), cert...), cvc.TagCAR, []byte(ca.dv.CHR))
	outer, err := cvc.SignECDSA(ca.dvKey, signed, rand.Reader)
	if err != nil {
		return err
	}
	req := tlv.Encode(cvc.TagAuthenticatedRequest, tlv.Append(signed, cvc.TagSignature, outer))
	sealed, err := sealCAKey(key, name, p)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{gskKey, sealed, 0o600}, {gskCert, cert, 0o644}, {gskReq, req, 0o644}} {
		if err := writeFileAtomicMode(filepath.Join(*dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "group key %s (P-256) issued by %s; group UID %s\n", name, ca.dv.CHR, uidString(pub.Point[1:]))
	return nil
}

func cmdXKEKKDM(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek kdm")
	dir := fs.String("dir", "", "the CA's `DIR` holding the group key")
	pass := fs.String("passphrase", "", "passphrase of the CA keys (- reads it from standard input)")
	devCert := fs.String("device-cert", "", "the device's 2F02 chain `FILE` (files read 2F02 -o FILE)")
	out := fs.String("o", "", "write the membership to `FILE`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *dir == "" || *devCert == "" || *out == "" {
		return usagef("want --dir, --device-cert and -o")
	}
	p, err := caPassphrase(&secretReader{}, *pass)
	if err != nil {
		return err
	}
	ca, err := loadCA(*dir, p)
	if err != nil {
		return err
	}
	gsk, err := readCVC(filepath.Join(*dir, gskCert))
	if err != nil {
		return err
	}
	gskPub, err := cvc.VerifyChain([]*cvc.Certificate{gsk, ca.dv}, ca.root, now())
	if err != nil {
		return fmt.Errorf("group key: %w", err)
	}
	req, err := os.ReadFile(filepath.Join(*dir, gskReq))
	if err != nil {
		return err
	}
	kf, err := os.ReadFile(filepath.Join(*dir, gskKey))
	if err != nil {
		return err
	}
	key, err := openCAKey(kf, gsk.CHR, p)
	if err != nil {
		return fmt.Errorf("%s: %w", gskKey, err)
	}
	if pub, _ := cvc.ECPublicKey(&key.PublicKey); pub == nil || !bytes.Equal(pub.Point, gskPub.Point) {
		return fmt.Errorf("%s does not belong to %s", gskKey, gskCert)
	}
	raw, err := os.ReadFile(*devCert)
	if err != nil {
		return err
	}
	chain, err := cvc.ParseAll(raw)
	if err != nil {
		return fmt.Errorf("device certificate: %w", err)
	}
	if len(chain) > 1 {
		chain = chain[:1]
	}
	devKey, err := cvc.VerifyChain(append(chain, ca.dv), ca.root, now())
	if err != nil {
		return fmt.Errorf("device %s is not enrolled under this CA: %w", chain[0].CHR, err)
	}
	x := devKey.Point[1 : 1+(len(devKey.Point)-1)/2]
	sig, err := cvc.SignECDSA(key, append([]byte{0x54}, x...), rand.Reader)
	if err != nil {
		return err
	}
	kdm := &hsm.KDM{DV: ca.dv.Raw, Holder: gsk.Raw, GroupKey: req, Signature: sig}
	if err := writeFileAtomicMode(*out, kdm.Encode(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "membership of device %s in group %s (UID %s)\n", chain[0].CHR, gsk.CHR, uidString(gskPub.Point[1:]))
	return nil
}

func xkekFlags(fs *flag.FlagSet) (reader, pin *string, domain *int) {
	return fs.String("reader", "", "use the first reader whose name contains `NAME`"),
		fs.String("pin", "", "user PIN (- reads it from standard input)"), domainFlag(fs)
}

func printXKEK(w io.Writer, d byte, s hsm.DKEKStatus) {
	kcv := "none (no DKEK)"
	if s.KCV != [8]byte{} {
		kcv = fmt.Sprintf("%X", s.KCV)
	}
	fmt.Fprintf(w, "domain %d: XKEK group UID %s, DKEK key check value %s\n", d, uidString(s.DomainUID), kcv)
}

func cmdXKEKJoin(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek join")
	reader, pin, domain := xkekFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	if *pin == "" || len(pos) != 1 {
		return usagef("want --pin and the membership file")
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	kdm, err := hsm.ParseKDM(raw)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		st, err := c.JoinXKEK(ctx, d, kdm)
		if errors.Is(err, apdu.ErrConditions) {
			return fmt.Errorf("%w (the membership is not for this device)", err)
		}
		if err != nil {
			return err
		}
		printXKEK(stdout, d, st)
		return nil
	})
}

func cmdXKEKKeygen(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek keygen")
	reader, pin, domain := xkekFlags(fs)
	idArg := fs.String("id", "", "key number 1..255")
	curve := fs.String("curve", "brainpoolP256r1", "the key's `CURVE` (256 bits or more)")
	out := fs.String("o", "", "write the key's certificate (for the other members) to `FILE`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	if *pin == "" || *out == "" {
		return usagef("want --pin and -o")
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		g, err := c.GenerateXKEKKey(ctx, id, d, *curve)
		if err != nil {
			return err
		}
		if err := writeFileAtomicMode(*out, g.Request.Request.Raw, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "XKEK key %d in domain %d, group UID %s\n", id, d, uidString(hsm.KeyDomainUID(g.Request.Request)))
		return nil
	})
}

// peerCertificate accepts a key certificate (7F21) or a key's authenticated request (67, CE<id>).
func peerCertificate(b []byte) ([]byte, error) {
	if r, err := cvc.ParseAuthenticatedRequest(b); err == nil {
		return r.Request.Raw, nil
	}
	c, err := cvc.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("peer certificate: %w", err)
	}
	return c.Raw, nil
}

func cmdXKEKDerive(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek derive")
	reader, pin, domain := xkekFlags(fs)
	idArg := fs.String("id", "", "this device's XKEK key number 1..255")
	peer := fs.String("peer", "", "another member's XKEK key certificate `FILE`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	if *pin == "" || *peer == "" {
		return usagef("want --pin and --peer")
	}
	raw, err := os.ReadFile(*peer)
	if err != nil {
		return err
	}
	cert, err := peerCertificate(raw)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		err := c.DeriveXKEK(ctx, id, cert)
		if errors.Is(err, apdu.ErrReferenceNotFound) {
			return fmt.Errorf("%w (the peer belongs to another group)", err)
		}
		if err != nil {
			return err
		}
		st, err := c.DKEKStatus(ctx, d)
		if err != nil {
			return err
		}
		printXKEK(stdout, d, st)
		return nil
	})
}

func cmdXKEKStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek status")
	reader, _, domain := xkekFlags(fs)
	if err := noPositional(fs, args); err != nil {
		return err
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	return withLogin(*reader, "", func(ctx context.Context, c *hsm.Client) error {
		st, err := c.DKEKStatus(ctx, d)
		if err != nil {
			return err
		}
		if st.DomainUID == nil {
			return fmt.Errorf("domain %d is not an XKEK domain", d)
		}
		printXKEK(stdout, d, st)
		return nil
	})
}

// cmdXKEKClear forgets the derived DKEK (the domain stays in the group); --delete removes
// the domain and its group UID too.
func cmdXKEKClear(args []string, stdout io.Writer) error {
	fs := newFlagSet("xkek clear")
	reader, pin, domain := xkekFlags(fs)
	del := fs.Bool("delete", false, "delete the domain and its group UID as well")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	if *pin == "" {
		return usagef("missing --pin")
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		if *del {
			if err := c.DeleteKeyDomain(ctx, d); err != nil {
				if errors.Is(err, apdu.ErrFileExists) {
					return fmt.Errorf("%w (keys still belong to domain %d)", err, d)
				}
				return err
			}
			fmt.Fprintf(stdout, "domain %d deleted\n", d)
			return nil
		}
		st, err := c.ClearKeyDomain(ctx, d)
		if err != nil {
			return err
		}
		printXKEK(stdout, d, st)
		return nil
	})
}
