package main

// DKEK shares and key backup (smartcard-hsm-core.md 2.10, 2.14, 2.15, 4): dkek create-share,
// dkek import, dkek status, keys wrap, keys unwrap, keys import. Share files, password
// shares and wrapped-key files are those of sc-hsm-tool, so either tool reads what the other
// wrote.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"

	"golang.org/x/crypto/pkcs12"

	"github.com/pico-hsm/pico-hsm/host/apdu"
	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/hsm"
	"github.com/pico-hsm/pico-hsm/host/tlv"
	"github.com/pico-hsm/pico-hsm/host/transport"
)

// kdfCache caches share-file key derivations; nil (no cache) except in tests.
var kdfCache *dkek.KDFCache

// cardReader reads GET CHALLENGE as an io.Reader, the randomness sc-hsm-tool uses.
type cardReader struct {
	ctx context.Context
	c   *hsm.Client
}

func (r cardReader) Read(p []byte) (int, error) {
	b, err := r.c.GetChallenge(r.ctx, min(len(p), 256))
	return copy(p, b), err
}

func domainFlag(fs *flag.FlagSet) *int {
	return fs.Int("domain", 0, "key domain `N` (0..15)")
}

func checkDomain(d int) (byte, error) {
	if d < 0 || d > 15 {
		return 0, usagef("--domain must be 0..15, got %d", d)
	}
	return byte(d), nil
}

func printStatus(w io.Writer, s hsm.DKEKStatus) {
	fmt.Fprintf(w, "DKEK shares          : %d\n", s.Total)
	if s.Missing > 0 {
		fmt.Fprintf(w, "DKEK import pending, %d share(s) still missing\n", s.Missing)
	} else {
		fmt.Fprintf(w, "DKEK key check value : %X\n", s.KCV)
	}
}

// cmdDKEKCreateShare makes a share file from the card's random numbers (sc-hsm-tool
// --create-dkek-share, spec 5.5).
func cmdDKEKCreateShare(args []string, stdout io.Writer) error {
	fs := newFlagSet("dkek create-share")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	password := fs.String("password", "", "encrypt the share with this password (- reads it from standard input)")
	threshold := fs.Int("threshold", 0, "with --total: a random password split so that `T` shares rebuild it")
	total := fs.Int("total", 0, "number of password shares `N`")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one FILE")
	}
	split := set(fs, "threshold") || set(fs, "total")
	if split == (*password != "") {
		return usagef("give either --password or --threshold and --total")
	}
	if split && (*threshold < 2 || *total < 3 || *threshold > *total || *total > 255) {
		return usagef("want 2 <= --threshold <= --total, 3 <= --total <= 255")
	}
	var pw []byte
	if !split {
		if pw, err = (&secretReader{}).value("password", *password); err != nil {
			return err
		}
		if len(pw) == 0 {
			return usagef("empty --password")
		}
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		var sp *dkek.PasswordSplit
		if split {
			if sp, err = dkek.SplitNewPassword(cardReader{ctx, c}, *threshold, *total); err != nil {
				return err
			}
			pw = sp.Password
		}
		salt, err := c.GetChallenge(ctx, dkek.SaltSize)
		if err != nil {
			return err
		}
		share, err := c.GetChallenge(ctx, dkek.Size)
		if err != nil {
			return err
		}
		if len(salt) != dkek.SaltSize || len(share) != dkek.Size {
			return errors.New("card returned too few random bytes")
		}
		stop := startProgress("encrypting the DKEK share")
		file, err := dkek.CreateShareFile(ctx, kdfCache, share, salt, pw)
		stop()
		dkek.Wipe(share)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(pos[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err // never overwrite a share: it may be the only copy
		}
		if _, err := f.Write(file); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if sp != nil {
			fmt.Fprintf(stdout, "The DKEK share password is split using a (%d-of-%d) threshold scheme.\n", *threshold, *total)
			for _, s := range sp.Shares {
				fmt.Fprintf(stdout, "\nShare %d of %d\n\n", s.ID, *total)
				fmt.Fprintf(stdout, "Prime       : %s\n", dkek.FormatColonHex(sp.Prime.Bytes()))
				fmt.Fprintf(stdout, "Share ID    : %d\n", s.ID)
				fmt.Fprintf(stdout, "Share value : %s\n", dkek.FormatColonHex(s.Value.Bytes()))
			}
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "DKEK share created and saved to %s\n", pos[0])
		return nil
	})
}

// readPwdShares reads the prime, then an ID and a value per share, one line each, from
// standard input: the order sc-hsm-tool --pwd-shares-total asks for them.
func readPwdShares(n int) ([]byte, error) {
	br := bufio.NewReader(stdin)
	line := func(what string) (string, error) {
		s, err := br.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && s != "") {
			return "", usagef("standard input ended before the %s", what)
		}
		return s, nil
	}
	l, err := line("prime")
	if err != nil {
		return nil, err
	}
	prime, err := dkek.ParseColonHex(l)
	if err != nil {
		return nil, usagef("prime: %v", err)
	}
	var shares []dkek.PasswordShare
	for i := 0; i < n; i++ {
		l, err := line(fmt.Sprintf("ID of share %d", i+1))
		if err != nil {
			return nil, err
		}
		id, err := dkek.ParseShareID(l)
		if err != nil {
			return nil, usagef("share %d: %v", i+1, err)
		}
		if l, err = line(fmt.Sprintf("value of share %d", i+1)); err != nil {
			return nil, err
		}
		v, err := dkek.ParseColonHex(l)
		if err != nil {
			return nil, usagef("share %d: %v", i+1, err)
		}
		shares = append(shares, dkek.PasswordShare{ID: id, Value: v})
	}
	return dkek.CombinePassword(prime, shares)
}

// openShare reads and decrypts a share file.
func openShare(ctx context.Context, path string, pw []byte) ([]byte, error) {
	file, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := dkek.ShareFileSalt(file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	stop := startProgress("decrypting the DKEK share")
	share, err := dkek.OpenShareFile(ctx, kdfCache, file, pw)
	stop()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return share, nil
}

// cmdDKEKImport imports one share (sc-hsm-tool --import-dkek-share, spec 5.6).
func cmdDKEKImport(args []string, stdout io.Writer) error {
	fs := newFlagSet("dkek import")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	password := fs.String("password", "", "the share file's password (- reads it from standard input)")
	pwdShares := fs.Int("pwd-shares", 0, "rebuild the password from `T` password shares read from standard input")
	domain := domainFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one FILE")
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	var pw []byte
	switch {
	case *password != "" && *pwdShares == 0:
		if pw, err = (&secretReader{}).value("password", *password); err != nil {
			return err
		}
	case *password == "" && *pwdShares >= 2:
		if pw, err = readPwdShares(*pwdShares); err != nil {
			return err
		}
	default:
		return usagef("give either --password or --pwd-shares T (T >= 2)")
	}
	ctx := context.Background()
	share, err := openShare(ctx, pos[0], pw)
	if err != nil {
		return err
	}
	defer dkek.Wipe(share)
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		st, err := c.ImportDKEKShare(ctx, d, share)
		if errors.Is(err, apdu.ErrCommandNotAllowed) {
			return fmt.Errorf("%w (the card expects no more shares)", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "DKEK share imported")
		printStatus(stdout, st)
		return nil
	})
}

func cmdDKEKStatus(args []string, stdout io.Writer) error {
	fs := newFlagSet("dkek status")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	domain := domainFlag(fs)
	if err := noPositional(fs, args); err != nil {
		return err
	}
	d, err := checkDomain(*domain)
	if err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		st, err := c.DKEKStatus(ctx, d)
		if err != nil {
			return err
		}
		printStatus(stdout, st)
		return nil
	})
}

// readOptional reads a file, nil when the card has none.
func readOptional(ctx context.Context, c *hsm.Client, fid uint16) ([]byte, error) {
	b, err := c.ReadFile(ctx, fid)
	if errors.Is(err, apdu.ErrFileNotFound) {
		return nil, nil
	}
	return b, err
}

// cmdKeysWrap writes the sc-hsm-tool wrapped-key file of a key (spec 5.7, 4.5).
func cmdKeysWrap(args []string, _ io.Writer) error {
	fs := newFlagSet("keys wrap")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "key number 1..255")
	out := fs.String("o", "", "write the wrapped key to `FILE`")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("missing -o FILE")
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		blob, err := c.WrapKey(ctx, id)
		if errors.Is(err, apdu.ErrReferenceNotFound) {
			return fmt.Errorf("%w (no complete DKEK: import the shares first)", err)
		}
		if err != nil {
			return err
		}
		w := &dkek.WrapFile{Blob: blob}
		if w.PRKD, err = readOptional(ctx, c, keyFID(id, hsm.PrefixPRKD)); err != nil {
			return err
		}
		if w.Cert, err = readOptional(ctx, c, keyFID(id, hsm.PrefixEECert)); err != nil {
			return err
		}
		return os.WriteFile(*out, w.Marshal(), 0o600)
	})
}

// exists reports whether the card has file fid.
func exists(ctx context.Context, c *hsm.Client, fid uint16) (bool, error) {
	_, err := c.ReadFile(ctx, fid)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, apdu.ErrFileNotFound):
		return false, nil
	}
	return false, err
}

// rollback removes what an import wrote, so that a failure leaves no half-imported key.
func rollback(ctx context.Context, c *hsm.Client, id byte, err error) error {
	_ = c.DeleteKey(ctx, id)
	for _, p := range []byte{hsm.PrefixPRKD, hsm.PrefixEECert} {
		_ = c.DeleteFile(ctx, keyFID(id, p))
	}
	return err
}

func explainUnwrap(err error) error {
	switch {
	case errors.Is(err, apdu.ErrIncorrectData):
		return fmt.Errorf("%w (the wrapped key does not match the card's DKEK)", err)
	case errors.Is(err, apdu.ErrReferenceNotFound):
		return fmt.Errorf("%w (no complete DKEK: import the shares first)", err)
	case errors.Is(err, apdu.ErrFileExists):
		return fmt.Errorf("%w (the key number is in use: delete the key or use --force)", err)
	}
	return err
}

// install unwraps blob as key id and writes prkd and cert (when not nil) to C4<id> and
// CE<id>; with force it first deletes what is there, otherwise it refuses when any of the
// three exists. On any failure after the key was created it deletes all three.
func install(ctx context.Context, c *hsm.Client, id byte, blob, prkd, cert []byte, force bool) error {
	fids := []uint16{keyFID(id, hsm.PrefixKey), keyFID(id, hsm.PrefixPRKD), keyFID(id, hsm.PrefixEECert)}
	if force {
		for _, f := range fids {
			if err := c.DeleteFile(ctx, f); err != nil && !errors.Is(err, apdu.ErrFileNotFound) {
				return err
			}
		}
	} else {
		list, err := c.ListObjects(ctx)
		if err != nil {
			return err
		}
		for _, f := range fids {
			for _, l := range list {
				if l == f {
					return fmt.Errorf("%04X exists: delete key %d first, choose another --id, or use --force", f, id)
				}
			}
		}
	}
	if err := c.UnwrapKey(ctx, id, blob, false); err != nil {
		return explainUnwrap(err)
	}
	// The card may have written its own C4/CE for the key; the file's replace them.
	for _, f := range []struct {
		prefix byte
		data   []byte
	}{{hsm.PrefixPRKD, prkd}, {hsm.PrefixEECert, cert}} {
		if f.data == nil {
			continue
		}
		if err := c.WriteFile(ctx, keyFID(id, f.prefix), f.data); err != nil {
			return rollback(ctx, c, id, fmt.Errorf("key unwrapped, but writing %04X failed (key removed again): %w",
				keyFID(id, f.prefix), err))
		}
	}
	return nil
}

// cmdKeysUnwrap imports a wrapped-key file (spec 5.8).
func cmdKeysUnwrap(args []string, stdout io.Writer) error {
	fs := newFlagSet("keys unwrap")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "key number 1..255")
	force := fs.Bool("force", false, "replace a key and files of that number")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one FILE")
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	w, err := dkek.ParseWrapFile(b)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	return withLogin(*reader, *pin, func(ctx context.Context, c *hsm.Client) error {
		if err := install(ctx, c, id, w.Blob, w.PRKD, w.Cert, *force); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %d unwrapped\n", id)
		return nil
	})
}

// prkd encodes the PKCS#15 private key description of spec 3.5.1.
func prkd(label string, keyID []byte, ref byte, key any) ([]byte, error) {
	common := tlv.Encode(0x0C, []byte(label))
	common = tlv.Append(common, 0x03, []byte{0x07, 0x80})
	common = tlv.Append(common, 0x04, []byte{0x01})
	var usage []byte
	var size int
	outer := uint32(0x30)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		usage, size = []byte{0x05, 0x60}, k.N.BitLen() // decrypt, sign
	case *ecdsa.PrivateKey:
		usage, size, outer = []byte{0x07, 0x20, 0x80}, k.Curve.Params().BitSize, 0xA0 // sign, derive
	default:
		return nil, fmt.Errorf("key type %T", key)
	}
	attrs := tlv.Encode(0x04, keyID)
	attrs = tlv.Append(attrs, 0x03, usage)
	attrs = tlv.Append(attrs, 0x03, []byte{0x03, 0xB8})
	attrs = tlv.Append(attrs, 0x02, []byte{ref})
	typeAttrs := tlv.Encode(0xA1, tlv.Encode(0x30, append(tlv.Encode(0x30, tlv.Encode(0x04, nil)),
		tlv.Encode(0x02, big.NewInt(int64(size)).Bytes())...)))
	body := append(tlv.Encode(0x30, common), tlv.Encode(0x30, attrs)...)
	return tlv.Encode(outer, append(body, typeAttrs...)), nil
}

// pkcs15ID is the CKA_ID OpenSC derives for a key: SHA-1 of the RSA modulus or of the
// uncompressed EC point.
func pkcs15ID(key any) ([]byte, error) {
	var b []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		b = k.N.Bytes()
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			return nil, err
		}
		b = pub.Bytes()
	}
	h := sha1.Sum(b)
	return h[:], nil
}

// cmdKeysImport imports an RSA or EC key with its certificate from a PKCS#12 file: the blob
// is made on the host with the DKEK rebuilt from the share files.
func cmdKeysImport(args []string, stdout io.Writer) error {
	fs := newFlagSet("keys import")
	reader := fs.String("reader", "", "use the first reader whose name contains `NAME`")
	pin := fs.String("pin", "", "verify this user PIN first (- reads it from standard input)")
	idArg := fs.String("id", "", "key number 1..255")
	p12 := fs.String("pkcs12", "", "the PKCS#12 `FILE` (legacy 3DES/RC2 encryption)")
	p12pw := fs.String("pkcs12-password", "", "its password (- reads it from standard input)")
	sharePW := fs.String("dkek-share-password", "", "the share files' password (- reads one per share from standard input)")
	label := fs.String("label", "", "the key's label (default: the certificate's CN)")
	force := fs.Bool("force", false, "replace a key and files of that number")
	var shares multiFlag
	fs.Var(&shares, "share", "a DKEK share `FILE` (repeat for each share)")
	if err := noPositional(fs, args); err != nil {
		return err
	}
	id, err := parseKeyID(*idArg)
	if err != nil {
		return err
	}
	if *p12 == "" || len(shares) == 0 || *sharePW == "" {
		return usagef("need --pkcs12 FILE, --share FILE and --dkek-share-password")
	}
	sr := &secretReader{}
	var p []byte
	if *pin != "" {
		if p, err = sr.userPIN("pin", *pin); err != nil {
			return err
		}
	}
	ppw, err := sr.value("pkcs12-password", *p12pw)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*p12)
	if err != nil {
		return err
	}
	key, cert, err := pkcs12.Decode(raw, string(ppw))
	if err != nil {
		return fmt.Errorf("%s: %w", *p12, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
	case *ecdsa.PrivateKey:
		if _, err := k.ECDH(); err != nil {
			return fmt.Errorf("%s: EC key on an unsupported curve", *p12)
		}
	default:
		return fmt.Errorf("%s: key type %T not supported", *p12, key)
	}
	ctx := context.Background()
	var parts [][]byte
	for _, f := range shares {
		pw, err := sr.value("dkek-share-password", *sharePW)
		if err != nil {
			return err
		}
		s, err := openShare(ctx, f, pw)
		if err != nil {
			return err
		}
		parts = append(parts, s)
	}
	k, err := dkek.FromShares(parts...)
	for _, s := range parts {
		dkek.Wipe(s)
	}
	if err != nil {
		return err
	}
	defer dkek.Wipe(k[:])
	blob, err := k.Wrap(key, dkek.WrapOptions{})
	if err != nil {
		return err
	}
	name := *label
	if name == "" {
		name = cert.Subject.CommonName
	}
	if name == "" {
		name = "key " + strconv.Itoa(int(id))
	}
	keyID, err := pkcs15ID(key)
	if err != nil {
		return err
	}
	desc, err := prkd(name, keyID, id, key)
	if err != nil {
		return err
	}
	return withCard(*reader, func(ctx context.Context, _ transport.Transport, c *hsm.Client, _ *hsm.AppletInfo) error {
		if p != nil {
			if err := c.Verify(ctx, hsm.UserPIN, p); err != nil {
				return err
			}
		}
		st, err := c.DKEKStatus(ctx, 0)
		if err != nil {
			return err
		}
		if st.Complete() && st.KCV != k.KCV() {
			kcv := k.KCV()
			return fmt.Errorf("the shares give a DKEK with check value %X, the card's is %X", kcv, st.KCV)
		}
		if err := install(ctx, c, id, blob, desc, cert.Raw, *force); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %d imported: %s, label %q, ID %X\n", id, describeKey(key), name, keyID)
		return nil
	})
}

func describeKey(key any) string {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("rsa:%d", k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "ec:" + k.Curve.Params().Name
	}
	return "?"
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
