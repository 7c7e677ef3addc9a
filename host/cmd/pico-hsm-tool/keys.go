package main

// The key commands: keys list|generate|delete, sign, decrypt, derive — GENERATE ASYMMETRIC KEY
// PAIR (spec 2.11), SIGN (2.12), DECIPHER and ECDH (2.13), keys as files CCxx (3.1, 3.2).

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// maxKeyInput bounds the input of sign and decrypt: one extended APDU.
const maxKeyInput = apdu.MaxExtendedData

// parseKeyID reads a key number 1..255, decimal or 0x-prefixed hex.
func parseKeyID(s string) (byte, error) {
	if s == "" {
		return 0, usagef("missing --id")
	}
	v, err := strconv.ParseUint(s, 0, 8)
	if err != nil || v == 0 {
		return 0, usagef("--id must be a key number 1..255 (decimal, or hex with 0x), got %q", s)
	}
	return byte(v), nil
}

func keyFID(id byte, prefix byte) uint16 { return uint16(prefix)<<8 | uint16(id) }

// cmdKeysList prints every key with its number, its file and, when its CE file holds a
// public key, the key type.
func cmdKeysList(args []string, stdout io.Writer) error {
	fs := newFlagSet("keys list")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		ids, err := c.ListObjects(ctx)
		if err != nil {
			return err
		}
		present := map[uint16]bool{}
		for _, id := range ids {
			present[id] = true
		}
		fmt.Fprintf(stdout, "%3s  %-4s  %s\n", "ID", "FILE", "KEY")
		for _, fid := range ids {
			if byte(fid>>8) != hsm.PrefixKey {
				continue
			}
			id := byte(fid)
			desc := "type unknown (no CE file)"
			switch {
			case id == 0:
				desc = "device authentication key"
			case !present[keyFID(id, hsm.PrefixEECert)] && present[keyFID(id, hsm.PrefixPRKD)]:
				// A secret key has no CE file; its C4 description carries the size (sym.go).
				if bits, err := keyBits(ctx, c, id); err == nil {
					desc = fmt.Sprintf("aes:%d", bits)
				}
			case present[keyFID(id, hsm.PrefixEECert)]:
				pub, err := c.ReadPublicKey(ctx, id)
				if err != nil {
					desc = "type unknown (" + err.Error() + ")"
				} else {
					desc = hsm.KeyDescription(pub)
				}
			}
			fmt.Fprintf(stdout, "%3d  %04X  %s\n", id, fid, desc)
		}
		return nil
	})
}

// keySpec is a parsed --type.
type keySpec struct {
	rsaBits int
	curve   string
}

func parseKeyType(s string) (keySpec, error) {
	kind, arg, _ := strings.Cut(strings.ToLower(s), ":")
	switch {
	case kind == "rsa":
		bits, err := strconv.Atoi(arg)
		if err != nil || bits < hsm.MinRSABits || bits > hsm.MaxRSABits || bits%8 != 0 {
			return keySpec{}, usagef("--type rsa:BITS needs %d..%d bits, a multiple of 8; got %q", hsm.MinRSABits, hsm.MaxRSABits, s)
		}
		return keySpec{rsaBits: bits}, nil
	case kind == "ec" && arg != "":
		if c := hsm.CurveByName(arg); c != nil && c.Kind == hsm.Weierstrass {
			return keySpec{curve: c.Name}, nil
		}
	case arg == "" && (kind == "x25519" || kind == "x448"):
		return keySpec{curve: hsm.CurveByName(kind).Name}, nil
	}
	var names []string
	for _, c := range hsm.Curves() {
		if c.Kind == hsm.Weierstrass {
			names = append(names, c.Name)
		}
	}
	return keySpec{}, usagef("--type must be rsa:BITS, ec:CURVE (%s), x25519 or x448; got %q", strings.Join(names, ", "), s)
}

// parseAlgorithmList reads --algorithms: algorithm names or hex bytes, comma-separated.
func parseAlgorithmList(s string) ([]byte, error) {
	var out []byte
	for _, f := range strings.Split(s, ",") {
		a, err := hsm.ParseAlgorithm(strings.TrimSpace(f))
		if err != nil {
			return nil, usagef("--algorithms: %v", err)
		}
		out = append(out, byte(a))
	}
	return out, nil
}

// cmdKeysGenerate generates a key pair, stores the card's answer in CE<id> (as OpenSC does,
// so keys list and OpenSC see the public key) and prints the public key.
func cmdKeysGenerate(args []string, stdout io.Writer) error {
	fs := newFlagSet("keys generate")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "key number 1..255")
	typ := fs.String("type", "", "rsa:BITS, ec:CURVE, x25519 or x448")
	counter := fs.String("counter", "", "allow only `N` signatures/decryptions (0..4294967294)")
	algs := fs.String("algorithms", "", "allowed algorithms, comma-separated names or hex bytes (73,70)")
	domain := fs.String("domain", "", "key domain `N` (0..255)")
	noStore := fs.Bool("no-store", false, "do not write the answer to the key's CE file (a Pico HSM keeps it there itself)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	if *typ == "" {
		return usagef("missing --type")
	}
	spec, err := parseKeyType(*typ)
	if err != nil {
		return err
	}
	var opts hsm.KeyOptions
	if *counter != "" {
		v, err := strconv.ParseUint(*counter, 10, 32)
		if err != nil || v == math.MaxUint32 {
			return usagef("--counter must be 0..%d, got %q", uint32(math.MaxUint32-1), *counter)
		}
		n := uint32(v)
		opts.UsageCounter = &n
	}
	if *algs != "" {
		if opts.Algorithms, err = parseAlgorithmList(*algs); err != nil {
			return err
		}
	}
	if *domain != "" {
		v, err := strconv.ParseUint(*domain, 0, 8)
		if err != nil {
			return usagef("--domain must be 0..255, got %q", *domain)
		}
		d := byte(v)
		opts.Domain = &d
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		what := *typ
		stop := startProgress(fmt.Sprintf("generating %s key %d", what, id))
		start := time.Now()
		var g *hsm.GeneratedKey
		if spec.rsaBits != 0 {
			g, err = c.GenerateRSA(ctx, id, spec.rsaBits, opts)
		} else {
			g, err = c.GenerateEC(ctx, id, spec.curve, opts)
		}
		stop()
		if err != nil {
			return err
		}
		took := time.Since(start)
		if !*noStore {
			if err := c.WriteFile(ctx, keyFID(id, hsm.PrefixEECert), g.Raw); err != nil {
				return fmt.Errorf("key %d generated, but storing its public key in CE%02X failed: %w", id, id, err)
			}
		}
		fmt.Fprintf(stdout, "key %d (%04X): %s, generated in %v\n", id, keyFID(id, hsm.PrefixKey),
			hsm.KeyDescription(g.Public), took.Round(time.Millisecond))
		der, err := hsm.MarshalPKIXPublicKey(g.Public)
		if err != nil {
			return err
		}
		return pem.Encode(stdout, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
	})
}

// cmdKeysDelete deletes a key and its CE and C4 files (what OpenSC keeps about it).
func cmdKeysDelete(args []string, _ io.Writer) error {
	fs := newFlagSet("keys delete")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "key number 1..255")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		if err := c.DeleteKey(ctx, id); err != nil {
			return err
		}
		for _, prefix := range []byte{hsm.PrefixEECert, hsm.PrefixPRKD} {
			if err := c.DeleteFile(ctx, keyFID(id, prefix)); err != nil && !errors.Is(err, apdu.ErrFileNotFound) {
				return fmt.Errorf("key %d deleted, but: %w", id, err)
			}
		}
		return nil
	})
}

// keyOpFlags are the flags sign and decrypt share.
type keyOpFlags struct {
	reader, pin, id, alg, in, out *string
}

func newKeyOpFlags(fs *flag.FlagSet, algHelp string) keyOpFlags {
	return keyOpFlags{
		reader: fs.String("reader", "", "use the first reader whose name contains `NAME`"),
		pin:    fs.String("pin", "", "verify this user PIN first (- reads it from standard input)"),
		id:     fs.String("id", "", "key number 1..255"),
		alg:    fs.String("alg", "", algHelp),
		in:     fs.String("i", "", "read the input from `FILE` (- for standard input)"),
		out:    fs.String("o", "", "write the result to `FILE` instead of standard output"),
	}
}

// readInput reads -i; "-" is standard input, which then cannot also carry the PIN.
func readInput(path, pin string) ([]byte, error) {
	if path == "" {
		return nil, usagef("missing -i FILE")
	}
	var b []byte
	var err error
	if path == "-" {
		if pin == "-" {
			return nil, usagef("-i - and --pin - cannot both read standard input")
		}
		b, err = io.ReadAll(io.LimitReader(stdin, maxKeyInput+1))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || len(b) > maxKeyInput {
		return nil, fmt.Errorf("input of %d bytes, want 1..%d", len(b), maxKeyInput)
	}
	return b, nil
}

func writeOutput(path string, b []byte, stdout io.Writer) error {
	if path == "" {
		_, err := stdout.Write(b)
		return err
	}
	return writeFileAtomicMode(path, b, 0o600) // decryptions and secrets
}

// keyOp runs sign or decrypt: parse, check the algorithm kind, send, write.
func keyOp(name string, args []string, stdout io.Writer, kind func(hsm.Algorithm) bool,
	op func(ctx context.Context, c *hsm.Client, id byte, alg hsm.Algorithm, in []byte) ([]byte, error)) error {
	fs := newFlagSet(name)
	f := newKeyOpFlags(fs, "algorithm: a name (see pico-hsm-tool help) or its byte in hex")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*f.id)
	if err != nil {
		return err
	}
	if *f.alg == "" {
		return usagef("missing --alg")
	}
	alg, err := hsm.ParseAlgorithm(*f.alg)
	if err != nil {
		return usagef("--alg: %v", err)
	}
	if alg.Known() && !kind(alg) {
		return usagef("--alg %v is not an algorithm of %s", alg, name)
	}
	var sr secretReader
	pin := *f.pin
	var p []byte
	if pin != "" {
		if p, err = sr.userPIN("pin", pin); err != nil {
			return err
		}
	}
	in, err := readInput(*f.in, pin)
	if err != nil {
		return err
	}
	return withCard(*f.reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		if p != nil {
			if err := c.Verify(ctx, hsm.UserPIN, p); err != nil {
				return err
			}
		}
		out, err := op(ctx, c, id, alg, in)
		if err != nil {
			return err
		}
		return writeOutput(*f.out, out, stdout)
	})
}

// cmdSign sends the input file to SIGN as it is: the message for the hash-on-card
// algorithms, a hash for ecdsa and rsa-pss, a DigestInfo for rsa-pkcs1, a padded block for
// rsa-raw.
func cmdSign(args []string, stdout io.Writer) error {
	return keyOp("sign", args, stdout, hsm.Algorithm.IsSign, func(ctx context.Context, c *hsm.Client, id byte, alg hsm.Algorithm, in []byte) ([]byte, error) {
		return c.Sign(ctx, id, alg, in)
	})
}

// cmdDecrypt sends the input file to DECIPHER with an RSA algorithm.
func cmdDecrypt(args []string, stdout io.Writer) error {
	isRSADecipher := func(a hsm.Algorithm) bool { return a.IsDecipher() && a != hsm.AlgECDH }
	return keyOp("decrypt", args, stdout, isRSADecipher, func(ctx context.Context, c *hsm.Client, id byte, alg hsm.Algorithm, in []byte) ([]byte, error) {
		return c.Decipher(ctx, id, alg, in)
	})
}

// cmdDerive runs ECDH with a peer's public key: a PEM or DER SubjectPublicKeyInfo, or the
// raw point (04 || x || y; the u-coordinate for X25519/X448). The output is the shared
// secret (the x-coordinate of the shared point; for X25519/X448 the RFC 7748 secret).
func cmdDerive(args []string, stdout io.Writer) error {
	fs := newFlagSet("derive")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "key number 1..255")
	peerArg := fs.String("peer", "", "the peer's public key: `FILE` with a PEM or DER SubjectPublicKeyInfo, or the raw point")
	out := fs.String("o", "", "write the shared secret to `FILE` instead of standard output")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	if *peerArg == "" {
		return usagef("missing --peer FILE")
	}
	raw, err := os.ReadFile(*peerArg)
	if err != nil {
		return err
	}
	point, err := peerPoint(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *peerArg, err)
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		z, err := c.ECDH(ctx, id, point)
		if err != nil {
			return err
		}
		return writeOutput(*out, z, stdout)
	})
}

// peerPoint extracts the point from a PEM or DER SubjectPublicKeyInfo; anything else
// (including bytes that only look like DER) is taken as the raw point, which the card checks.
func peerPoint(b []byte) ([]byte, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block %q, want PUBLIC KEY", blk.Type)
		}
		pub, err := hsm.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, err
		}
		return hsm.PublicPoint(pub)
	}
	if pub, err := hsm.ParsePKIXPublicKey(b); err == nil {
		return hsm.PublicPoint(pub)
	}
	return b, nil
}
