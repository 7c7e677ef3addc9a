package main

// The symmetric commands (pico-hsm-extensions.md section 1): aes keygen|encrypt|decrypt,
// mac, kdf, derive-ec — GENERATE SYMMETRIC KEY (48), CIPHER SYMMETRIC (78), DERIVE (76).

import (
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

const modeChaCha = "chacha20-poly1305"

var hashNames = map[string]crypto.Hash{"sha1": crypto.SHA1, "sha224": crypto.SHA224, "sha256": crypto.SHA256,
	"sha384": crypto.SHA384, "sha512": crypto.SHA512}

func parseHex(name, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		return nil, usagef("--%s must be hex: %v", name, err)
	}
	return b, nil
}

// symFlags are the flags every symmetric command has.
type symFlags struct {
	reader, pin, id *string
}

func newSymFlags(fs interface {
	String(name, value, usage string) *string
}) symFlags {
	return symFlags{
		reader: fs.String("reader", "", "use the first reader whose name contains `NAME`"),
		pin:    fs.String("pin", "", "verify this user PIN first (- reads it from standard input)"),
		id:     fs.String("id", "", "key number 1..255"),
	}
}

// cmdAESKeygen generates an AES key on the card (it never leaves it in clear).
func cmdAESKeygen(args []string, stdout io.Writer) error {
	fs := newFlagSet("aes keygen")
	f := newSymFlags(fs)
	bits := fs.Int("bits", 256, "key size: 128, 192, 256 or 512 (AES-256-XTS)")
	counter := fs.String("counter", "", "allow only `N` operations (0..4294967294)")
	algs := fs.String("algorithms", "", "allowed algorithm bytes, comma-separated hex (10,11,18,51,52,92,99)")
	domain := fs.String("domain", "", "key domain `N` (0..255)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*f.id)
	if err != nil {
		return err
	}
	switch *bits {
	case 128, 192, 256, 512:
	default:
		return usagef("--bits must be 128, 192, 256 or 512, got %d", *bits)
	}
	var opts hsm.KeyOptions
	if *counter != "" {
		v, err := strconv.ParseUint(*counter, 0, 32)
		if err != nil || v == 0xFFFFFFFF {
			return usagef("--counter must be 0..4294967294, got %q", *counter)
		}
		c := uint32(v)
		opts.UsageCounter = &c
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
	return withLogin(*f.reader, *f.pin, func(ctx context.Context, c *hsm.Client) error {
		if err := c.GenerateAESKey(ctx, id, *bits, opts); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %d (CC%02X): aes:%d\n", id, id, *bits)
		return nil
	})
}

// keyBits reads the key size from the key's C4 description (written by aes keygen).
func keyBits(ctx context.Context, c *hsm.Client, id byte) (int, error) {
	prkd, err := c.ReadFile(ctx, keyFID(id, hsm.PrefixPRKD))
	if err != nil {
		return 0, fmt.Errorf("key size of key %d unknown (give --bits): %w", id, err)
	}
	// A8 { 30 {...}, 30 {...}, A0 { 30 { 02 bits } }, ... } (spec 1.2).
	top, err := tlv.Parse(prkd)
	if err == nil && len(top) == 1 && top[0].Tag == 0xA8 {
		kids, _ := top[0].Children()
		if a0, ok := tlv.Find(kids, 0xA0); ok {
			if k1, err := a0.Children(); err == nil {
				if s, ok := tlv.Find(k1, 0x30); ok {
					if k2, err := s.Children(); err == nil {
						if n, ok := tlv.Find(k2, 0x02); ok && len(n.Value) <= 2 && len(n.Value) > 0 {
							v := 0
							for _, b := range n.Value {
								v = v<<8 | int(b)
							}
							return v, nil
						}
					}
				}
			}
		}
	}
	return 0, fmt.Errorf("key %d has no AES key description (give --bits)", id)
}

func cmdAESEncrypt(args []string, stdout io.Writer) error {
	return aesOp("aes encrypt", true, args, stdout)
}
func cmdAESDecrypt(args []string, stdout io.Writer) error {
	return aesOp("aes decrypt", false, args, stdout)
}

func aesOp(name string, encrypt bool, args []string, stdout io.Writer) error {
	fs := newFlagSet(name)
	f := newSymFlags(fs)
	modeArg := fs.String("mode", "", "ecb, cbc, cfb, ofb, ctr, gcm, ccm, xts or chacha20-poly1305")
	bits := fs.Int("bits", 0, "key size (default: from the key's description)")
	ivArg := fs.String("iv", "", "IV, nonce or XTS tweak in hex")
	aadArg := fs.String("aad", "", "additional authenticated data in hex (gcm, ccm, chacha20-poly1305)")
	tagLen := fs.Int("tag-len", 0, "GCM/CCM tag length in bytes (default 16)")
	in := fs.String("i", "", "read the input from `FILE` (- for standard input)")
	out := fs.String("o", "", "write the result to `FILE` instead of standard output")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*f.id)
	if err != nil {
		return err
	}
	if *modeArg == "" {
		return usagef("missing --mode")
	}
	var mode hsm.AESMode
	if *modeArg != modeChaCha {
		if mode, err = hsm.ParseAESMode(*modeArg); err != nil {
			return usagef("--mode: %v", err)
		}
	}
	iv, err := parseHex("iv", *ivArg)
	if err != nil {
		return err
	}
	aad, err := parseHex("aad", *aadArg)
	if err != nil {
		return err
	}
	if *tagLen < 0 || *tagLen > 16 {
		return usagef("--tag-len must be 4..16, got %d", *tagLen)
	}
	data, err := readInput(*in, *f.pin)
	if err != nil {
		return err
	}
	return withLogin(*f.reader, *f.pin, func(ctx context.Context, c *hsm.Client) error {
		var res []byte
		var err error
		if *modeArg == modeChaCha {
			if encrypt {
				res, err = c.ChaCha20Poly1305Seal(ctx, id, iv, data, aad)
			} else {
				res, err = c.ChaCha20Poly1305Open(ctx, id, iv, data, aad)
			}
		} else {
			b := *bits
			if b == 0 {
				if b, err = keyBits(ctx, c, id); err != nil {
					return err
				}
			}
			p := hsm.CipherParams{IV: iv, AAD: aad, TagLen: *tagLen}
			if encrypt {
				res, err = c.AESEncrypt(ctx, id, b, mode, data, p)
			} else {
				res, err = c.AESDecrypt(ctx, id, b, mode, data, p)
			}
		}
		if err != nil {
			return err
		}
		return writeOutput(*out, res, stdout)
	})
}

// cmdMAC computes AES-CMAC or HMAC of a file with a card key.
func cmdMAC(args []string, stdout io.Writer) error {
	fs := newFlagSet("mac")
	f := newSymFlags(fs)
	alg := fs.String("alg", "", "cmac, or hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512")
	in := fs.String("i", "", "read the message from `FILE` (- for standard input)")
	out := fs.String("o", "", "write the MAC to `FILE` instead of standard output")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*f.id)
	if err != nil {
		return err
	}
	var h crypto.Hash
	switch {
	case *alg == "cmac":
	case strings.HasPrefix(*alg, "hmac-") && hashNames[strings.TrimPrefix(*alg, "hmac-")] != 0:
		h = hashNames[strings.TrimPrefix(*alg, "hmac-")]
	default:
		return usagef("--alg must be cmac or hmac-sha1..hmac-sha512, got %q", *alg)
	}
	msg, err := readInput(*in, *f.pin)
	if err != nil {
		return err
	}
	return withLogin(*f.reader, *f.pin, func(ctx context.Context, c *hsm.Client) error {
		var mac []byte
		var err error
		if h == 0 {
			mac, err = c.CMAC(ctx, id, msg)
		} else {
			mac, err = c.HMAC(ctx, id, h, msg)
		}
		if err != nil {
			return err
		}
		return writeOutput(*out, mac, stdout)
	})
}

// cmdKDF derives bytes from a card secret: HKDF, PBKDF2, X9.63, or the AES secret derivation.
func cmdKDF(args []string, stdout io.Writer) error {
	fs := newFlagSet("kdf")
	f := newSymFlags(fs)
	alg := fs.String("alg", "", "hkdf-sha256|384|512, pbkdf2-sha1..sha512, x963-sha1..sha512 or aes-derive")
	n := fs.Int("len", 32, "output length in bytes (1..2028; aes-derive: the length of --info)")
	saltArg := fs.String("salt", "", "salt in hex (hkdf, pbkdf2)")
	infoArg := fs.String("info", "", "info / shared info / derivation data in hex")
	iter := fs.Int("iter", 10000, "PBKDF2 iterations (1..1000000)")
	out := fs.String("o", "", "write the result to `FILE` instead of standard output")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*f.id)
	if err != nil {
		return err
	}
	salt, err := parseHex("salt", *saltArg)
	if err != nil {
		return err
	}
	info, err := parseHex("info", *infoArg)
	if err != nil {
		return err
	}
	if *n < 1 || *n > 2028 {
		return usagef("--len must be 1..2028, got %d", *n)
	}
	kind, hname, _ := strings.Cut(*alg, "-")
	h := hashNames[hname]
	switch {
	case *alg == "aes-derive":
		if len(info) == 0 {
			return usagef("aes-derive needs --info (the output is as long)")
		}
	case kind == "hkdf" && (h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512):
	case (kind == "pbkdf2" || kind == "x963") && h != 0:
		if kind == "pbkdf2" && (*iter < 1 || *iter > 1000000) {
			return usagef("--iter must be 1..1000000, got %d", *iter)
		}
	default:
		return usagef("--alg must be hkdf-sha256|384|512, pbkdf2-sha1..sha512, x963-sha1..sha512 or aes-derive; got %q", *alg)
	}
	return withLogin(*f.reader, *f.pin, func(ctx context.Context, c *hsm.Client) error {
		var res []byte
		var err error
		switch kind {
		case "aes":
			res, err = c.DeriveAES(ctx, id, info)
		case "hkdf":
			res, err = c.HKDF(ctx, id, h, salt, info, *n)
		case "pbkdf2":
			res, err = c.PBKDF2(ctx, id, h, salt, *iter, *n)
		default:
			res, err = c.X963KDF(ctx, id, h, info, *n)
		}
		if err != nil {
			return err
		}
		return writeOutput(*out, res, stdout)
	})
}

// cmdDeriveEC stores key --to = (d + scalar) mod p of EC key --id.
func cmdDeriveEC(args []string, stdout io.Writer) error {
	fs := newFlagSet("derive-ec")
	f := newSymFlags(fs)
	to := fs.String("to", "", "destination key number 1..255")
	scalarArg := fs.String("scalar", "", "the big-endian scalar to add, in hex")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*f.id)
	if err != nil {
		return err
	}
	dst, err := parseKeyID(*to)
	if err != nil {
		return usagef("--to: %v", err)
	}
	scalar, err := parseHex("scalar", *scalarArg)
	if err != nil {
		return err
	}
	if len(scalar) == 0 {
		return usagef("missing --scalar")
	}
	return withLogin(*f.reader, *f.pin, func(ctx context.Context, c *hsm.Client) error {
		if err := c.DeriveEC(ctx, id, dst, scalar); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %d (CC%02X) derived from key %d\n", dst, dst, id)
		return nil
	})
}
