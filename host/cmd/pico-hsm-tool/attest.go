package main

// attest: verifies that key N is held by this device (generated there, or unwrapped into it)
// and that the device belongs to the user's CA (pico-hsm-extensions.md 5.4): CE<N> (the 67
// request the device answered and kept at generation or UNWRAP)
// is self-signed by key N (proof of possession; X25519/X448 cannot sign), its outer signature
// is by the device key of 2F02's first certificate, whose CHR it names, and 2F02 chains to the
// root given with --root (device <- DV <- root), each certificate valid today.
// One line on success; on failure the error line says NOT VALID and why, exit status 1.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/cvc"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

var errNotValid = errors.New("NOT VALID")

func cmdAttest(args []string, stdout io.Writer) error {
	fs := newFlagSet("attest")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	id := fs.String("id", "", "key number `N` (1..255)")
	rootFile := fs.String("root", "", "the root certificate `FILE` (root.cvc of ca init)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	if *id == "" || *rootFile == "" {
		return usagef("want --id and --root")
	}
	kid, err := parseKeyID(*id)
	if err != nil {
		return err
	}
	root, err := readCVC(*rootFile)
	if err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		req, err := c.Attestation(ctx, kid)
		if err != nil {
			return fmt.Errorf("key %d: %w: %w", kid, errNotValid, err)
		}
		chain, err := c.DeviceChain(ctx)
		if err != nil {
			return fmt.Errorf("key %d: %w: %w", kid, errNotValid, err)
		}
		line, err := attest(req, chain, root)
		if err != nil {
			return fmt.Errorf("key %d: %w: %w", kid, errNotValid, err)
		}
		fmt.Fprintf(stdout, "key %d: VALID: %s\n", kid, line)
		return nil
	})
}

// attest checks req against the device chain and the root; it returns the description of
// what was verified.
func attest(req *cvc.AuthenticatedRequest, chain []*cvc.Certificate, root *cvc.Certificate) (string, error) {
	// 2F02 may end with the root itself (vendor layout): it must then be this very root.
	if last := chain[len(chain)-1]; len(chain) > 1 && last.CHR == root.CHR {
		if string(last.Raw) != string(root.Raw) {
			return "", fmt.Errorf("2F02 holds another certificate named %s than the root given", root.CHR)
		}
		chain = chain[:len(chain)-1]
	}
	if chain[0].CAR == chain[0].CHR {
		return "", fmt.Errorf("device %s is not enrolled: its certificate is self-signed", chain[0].CHR)
	}
	devKey, err := cvc.VerifyChain(chain, root, now())
	if err != nil {
		return "", fmt.Errorf("device chain: %w", err)
	}
	dev := chain[0].CHR
	if req.OuterCAR != dev {
		return "", fmt.Errorf("the key was attested by %s, this device is %s", req.OuterCAR, dev)
	}
	if err := req.VerifyOuter(devKey); err != nil {
		return "", fmt.Errorf("device signature: %w", err)
	}
	k := req.Request.PublicKey
	what := "RSA " + fmt.Sprint(bitLen(k)) + "-bit"
	switch {
	case k.Curve != nil && k.Curve.Montgomery:
		what = k.Curve.Name + " (cannot sign: no proof of possession)"
	default:
		if k.Curve != nil {
			what = k.Curve.Name
		}
		if err := req.Request.VerifySelfSigned(); err != nil {
			return "", fmt.Errorf("key's self-signature: %w", err)
		}
	}
	names := []string{dev}
	for _, c := range chain[1:] {
		names = append(names, c.CHR)
	}
	names = append(names, root.CHR)
	return fmt.Sprintf("%s key held by device %s, chain %s", what, dev, strings.Join(names, " <- ")), nil
}

func bitLen(k *cvc.PublicKey) int {
	if k.N == nil {
		return 0
	}
	return k.N.BitLen()
}
