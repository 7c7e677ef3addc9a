package hsm

// Key as crypto.Signer and crypto.Decrypter against a software card that does what section
// 2.12/2.13 say the card does, with Go's keys: every padding path of the host is checked by
// the standard library's verification and encryption.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// softCard answers SIGN and DECIPHER for key 01 with a Go key and records the APDUs.
type softCard struct {
	rsa     *rsa.PrivateKey
	ec      *ecdsa.PrivateKey
	x       *ecdh.PrivateKey
	sent    []apdu.Command
	corrupt func([]byte) []byte // changes the card's answer, when set
}

func (s *softCard) ATR() []byte  { return nil }
func (s *softCard) Close() error { return nil }

func (s *softCard) Transmit(_ context.Context, b []byte) ([]byte, error) {
	cmd, err := apdu.ParseCommand(b)
	if err != nil {
		return nil, err
	}
	s.sent = append(s.sent, cmd)
	out, sw := s.run(cmd)
	if sw == 0x9000 && s.corrupt != nil {
		out = s.corrupt(out)
	}
	return append(out, byte(sw>>8), byte(sw)), nil
}

func (s *softCard) run(c apdu.Command) ([]byte, uint16) {
	if c.P1 != 0x01 {
		return nil, 0x6A82
	}
	in := c.Data
	alg := Algorithm(c.P2)
	raw := func(x []byte) []byte { // x^d mod n, modulus-size
		m := new(big.Int).Exp(new(big.Int).SetBytes(x), s.rsa.D, s.rsa.N)
		return m.FillBytes(make([]byte, s.rsa.Size()))
	}
	var out []byte
	var err error
	switch {
	case c.INS == InsSign && alg == AlgRSARaw && s.rsa != nil:
		if len(in) != s.rsa.Size() || new(big.Int).SetBytes(in).Cmp(s.rsa.N) >= 0 {
			return nil, 0x6A80
		}
		out = raw(in)
	case c.INS == InsSign && alg == AlgRSAPKCS1 && s.rsa != nil:
		out, err = rsa.SignPKCS1v15(nil, s.rsa, 0, in)
	case c.INS == InsSign && alg == AlgRSAPSS && s.rsa != nil:
		h := map[int]crypto.Hash{20: crypto.SHA1, 28: crypto.SHA224, 32: crypto.SHA256, 48: crypto.SHA384, 64: crypto.SHA512}[len(in)]
		if h == 0 {
			return nil, 0x6A80
		}
		out, err = rsa.SignPSS(rand.Reader, s.rsa, h, in, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case c.INS == InsSign && alg == AlgECDSA && s.ec != nil:
		out, err = ecdsa.SignASN1(rand.Reader, s.ec, in)
	case c.INS == InsDecipher && alg == AlgRSADecryptRaw && s.rsa != nil:
		out = raw(in)
	case c.INS == InsDecipher && alg == AlgRSADecryptPKCS1 && s.rsa != nil:
		out, err = rsa.DecryptPKCS1v15(nil, s.rsa, in)
	case c.INS == InsDecipher && alg == AlgRSADecryptOAEP && s.rsa != nil:
		out, err = rsa.DecryptOAEP(sha256.New(), nil, s.rsa, in, nil)
	case c.INS == InsDecipher && alg == AlgECDH && s.x != nil:
		peer, perr := ecdh.X25519().NewPublicKey(in)
		if perr != nil {
			return nil, 0x6A80
		}
		z, _ := s.x.ECDH(peer)
		out = append([]byte{0x04}, z...)
	case c.INS == InsDecipher && alg == AlgECDH && s.ec != nil:
		e, _ := s.ec.ECDH()
		peer, perr := e.Curve().NewPublicKey(in)
		if perr != nil {
			return nil, 0x6A80
		}
		z, _ := e.ECDH(peer)
		out = append([]byte{0x04}, z...)
	default:
		return nil, 0x6A81
	}
	if err != nil {
		return nil, 0x6A80
	}
	return out, 0x9000
}

func softRSA(t *testing.T) (*softCard, *RSAKey) {
	t.Helper()
	s := &softCard{rsa: testRSAKey(t)}
	k, err := New(s).RSAKey(0x01, &s.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

func digest(h crypto.Hash, msg string) []byte {
	w := h.New()
	w.Write([]byte(msg))
	return w.Sum(nil)
}

func TestKeySignRSA(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    crypto.SignerOpts
		card    bool
		wantAlg Algorithm
		wantIs  error
		fail    bool
	}{
		{name: "PKCS#1 SHA-256 raw", opts: crypto.SHA256, wantAlg: AlgRSARaw},
		{name: "PKCS#1 SHA-1 raw", opts: crypto.SHA1, wantAlg: AlgRSARaw},
		{name: "PKCS#1 SHA-512 card padding", opts: crypto.SHA512, card: true, wantAlg: AlgRSAPKCS1},
		{name: "PKCS#1 no hash (TLS 1.0 style)", opts: crypto.Hash(0), wantAlg: AlgRSARaw},
		{name: "PSS SHA-256 salt = hash", opts: &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}, wantAlg: AlgRSAPSS},
		{name: "PSS SHA-384 salt 48", opts: &rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: 48}, wantAlg: AlgRSAPSS},
		{name: "PSS SHA-1", opts: &rsa.PSSOptions{Hash: crypto.SHA1, SaltLength: rsa.PSSSaltLengthEqualsHash}, wantAlg: AlgRSAPSS},
		{name: "PSS auto salt refused", opts: &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthAuto}, fail: true, wantIs: ErrNotSupported},
		{name: "PSS salt 20 with SHA-256 refused", opts: &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}, fail: true, wantIs: ErrNotSupported},
		{name: "PSS SHA-512/256 refused", opts: &rsa.PSSOptions{Hash: crypto.SHA512_256, SaltLength: rsa.PSSSaltLengthEqualsHash}, fail: true, wantIs: ErrNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, k := softRSA(t)
			k.CardPadding = tc.card
			h := tc.opts.HashFunc()
			d := []byte("thirty-six bytes of raw TLS 1.0 inp")
			if h != 0 {
				d = digest(h, "message")
			}
			sig, err := k.Sign(rand.Reader, d, tc.opts)
			if tc.fail {
				if err == nil || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) || len(s.sent) != 0 {
					t.Fatalf("err %v, %d APDUs sent; want %v and none", err, len(s.sent), tc.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.sent) != 1 || Algorithm(s.sent[0].P2) != tc.wantAlg || s.sent[0].INS != InsSign {
				t.Fatalf("sent %+v, want one SIGN with %v", s.sent, tc.wantAlg)
			}
			pub := &s.rsa.PublicKey
			if pss, ok := tc.opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, h, d, sig, &rsa.PSSOptions{SaltLength: h.Size()})
				if !bytes.Equal(s.sent[0].Data, d) {
					t.Errorf("PSS input % X, want the bare hash", s.sent[0].Data)
				}
				_ = pss
			} else {
				err = rsa.VerifyPKCS1v15(pub, h, d, sig)
			}
			if err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
		})
	}
	t.Run("digest of the wrong length", func(t *testing.T) {
		s, k := softRSA(t)
		if _, err := k.Sign(nil, make([]byte, 20), crypto.SHA256); err == nil || len(s.sent) != 0 {
			t.Fatalf("err %v, sent %d", err, len(s.sent))
		}
	})
	t.Run("card answer not below the modulus", func(t *testing.T) {
		s, k := softRSA(t)
		s.corrupt = func(b []byte) []byte { return bytes.Repeat([]byte{0xFF}, len(b)) }
		if _, err := k.Sign(nil, digest(crypto.SHA256, "m"), crypto.SHA256); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("card error", func(t *testing.T) {
		s, _ := softRSA(t)
		k, _ := New(s).Key(0x02, &s.rsa.PublicKey)
		if _, err := k.Sign(nil, digest(crypto.SHA256, "m"), crypto.SHA256); !errors.Is(err, apdu.ErrFileNotFound) || k.ID() != 2 {
			t.Fatalf("err %v, want 6A82", err)
		}
	})
}

func TestKeyDecryptRSA(t *testing.T) {
	msg := []byte("a 32-byte session key, for test")
	for _, tc := range []struct {
		name    string
		encrypt func(pub *rsa.PublicKey) []byte
		opts    crypto.DecrypterOpts
		card    bool
		wantAlg Algorithm
		want    []byte // nil: msg
		fail    bool
	}{
		{name: "PKCS#1 v1.5, host unpadding", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
			return c
		}, wantAlg: AlgRSADecryptRaw},
		{name: "PKCS#1 v1.5, card unpadding", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
			return c
		}, opts: &rsa.PKCS1v15DecryptOptions{}, card: true, wantAlg: AlgRSADecryptPKCS1},
		{name: "OAEP SHA-256, host", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
			return c
		}, opts: &rsa.OAEPOptions{Hash: crypto.SHA256}, wantAlg: AlgRSADecryptRaw},
		{name: "OAEP SHA-256, card", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
			return c
		}, opts: &rsa.OAEPOptions{Hash: crypto.SHA256}, card: true, wantAlg: AlgRSADecryptOAEP},
		{name: "OAEP SHA-1 with label, host", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, msg, []byte("label"))
			return c
		}, opts: &rsa.OAEPOptions{Hash: crypto.SHA1, Label: []byte("label")}, wantAlg: AlgRSADecryptRaw},
		{name: "OAEP SHA-224", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New224(), rand.Reader, pub, msg, nil)
			return c
		}, opts: &rsa.OAEPOptions{Hash: crypto.SHA224}, wantAlg: AlgRSADecryptRaw},
		{name: "OAEP wrong label", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, []byte("a"))
			return c
		}, opts: &rsa.OAEPOptions{Hash: crypto.SHA256, Label: []byte("b")}, wantAlg: AlgRSADecryptRaw, fail: true},
		{name: "OAEP ciphertext as PKCS#1", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
			return c
		}, wantAlg: AlgRSADecryptRaw, fail: true},
		{name: "session key: good", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
			return c
		}, opts: &rsa.PKCS1v15DecryptOptions{SessionKeyLen: len(msg)}, wantAlg: AlgRSADecryptRaw},
		{name: "session key: bad padding gives a random key", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
			return c
		}, opts: &rsa.PKCS1v15DecryptOptions{SessionKeyLen: len(msg)}, wantAlg: AlgRSADecryptRaw, want: []byte{}},
		{name: "session key on the card: bad padding gives a random key", encrypt: func(pub *rsa.PublicKey) []byte {
			c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
			return c
		}, opts: &rsa.PKCS1v15DecryptOptions{SessionKeyLen: len(msg)}, card: true, wantAlg: AlgRSADecryptPKCS1, want: []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, k := softRSA(t)
			k.CardPadding = tc.card
			got, err := k.Decrypt(rand.Reader, tc.encrypt(&s.rsa.PublicKey), tc.opts)
			if len(s.sent) != 1 || s.sent[0].INS != InsDecipher || Algorithm(s.sent[0].P2) != tc.wantAlg {
				t.Fatalf("sent %+v, want one DECIPHER %v", s.sent, tc.wantAlg)
			}
			if tc.fail {
				if !errors.Is(err, rsa.ErrDecryption) {
					t.Fatalf("got %q, %v; want ErrDecryption", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == nil && !bytes.Equal(got, msg):
				t.Fatalf("got %q", got)
			case tc.want != nil && (len(got) != len(msg) || bytes.Equal(got, msg)):
				t.Fatalf("got %q, want a random key of %d bytes", got, len(msg))
			}
		})
	}
	t.Run("card unpadding: bad padding matches rsa.ErrDecryption", func(t *testing.T) {
		s, k := softRSA(t)
		k.CardPadding = true
		c, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &s.rsa.PublicKey, msg, nil)
		if _, err := k.Decrypt(nil, c, nil); !errors.Is(err, rsa.ErrDecryption) || !errors.Is(err, apdu.ErrIncorrectData) {
			t.Fatalf("22 of an OAEP ciphertext: %v", err)
		}
		c, _ = rsa.EncryptPKCS1v15(rand.Reader, &s.rsa.PublicKey, msg)
		if _, err := k.Decrypt(nil, c, &rsa.OAEPOptions{Hash: crypto.SHA256}); !errors.Is(err, rsa.ErrDecryption) {
			t.Fatalf("23 of a PKCS#1 ciphertext: %v", err)
		}
	})
	t.Run("session key longer than the modulus allows", func(t *testing.T) {
		s, k := softRSA(t)
		if _, err := k.Decrypt(rand.Reader, []byte{1}, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 118}); !errors.Is(err, rsa.ErrDecryption) || len(s.sent) != 0 {
			t.Fatalf("err %v, sent %d", err, len(s.sent))
		}
	})
	t.Run("card OAEP refuses other parameters", func(t *testing.T) {
		s, k := softRSA(t)
		k.CardPadding = true
		if _, err := k.Decrypt(nil, []byte{1}, &rsa.OAEPOptions{Hash: crypto.SHA1}); !errors.Is(err, ErrNotSupported) || len(s.sent) != 0 {
			t.Fatalf("err %v, sent %d", err, len(s.sent))
		}
	})
	t.Run("short ciphertext is left-padded", func(t *testing.T) {
		s, k := softRSA(t)
		_, _ = k.Decrypt(nil, []byte{0x01, 0x02}, nil)
		if d := s.sent[0].Data; len(d) != 128 || d[126] != 1 || d[127] != 2 || d[0] != 0 {
			t.Fatalf("sent % X", d)
		}
	})
	t.Run("ciphertext longer than the modulus", func(t *testing.T) {
		s, k := softRSA(t)
		if _, err := k.Decrypt(nil, make([]byte, 129), nil); err == nil || len(s.sent) != 0 {
			t.Fatal("accepted")
		}
	})
	t.Run("raw answer of the wrong length", func(t *testing.T) {
		s, k := softRSA(t)
		s.corrupt = func(b []byte) []byte { return b[1:] }
		c, _ := rsa.EncryptPKCS1v15(rand.Reader, &s.rsa.PublicKey, msg)
		if _, err := k.Decrypt(nil, c, nil); err == nil {
			t.Fatal("accepted")
		}
	})
}

func TestKeyEC(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	s := &softCard{ec: ec}
	k, err := New(s).Key(0x01, &ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d := digest(crypto.SHA512, "message") // 64 bytes: cut to the 48-byte field
	sig, err := k.Sign(nil, d, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&ec.PublicKey, d, sig) {
		t.Fatal("signature does not verify")
	}
	if got := s.sent[0]; got.P2 != byte(AlgECDSA) || len(got.Data) != 48 {
		t.Errorf("sent P2 %02X with %d bytes, want 70 with 48", got.P2, len(got.Data))
	}
	// The answer is re-encoded: a non-minimal INTEGER from the card comes back canonical.
	s.corrupt = func(b []byte) []byte { return []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01} }
	if sig, err := k.Sign(nil, d[:32], nil); err == nil {
		t.Errorf("non-DER integer accepted: % X", sig)
	}
	s.corrupt = func(b []byte) []byte { return []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01} }
	if sig, err := k.Sign(nil, d[:32], nil); err != nil || !bytes.Equal(sig, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}) {
		t.Errorf("minimal DER: % X, %v", sig, err)
	}
	s.corrupt = func(b []byte) []byte { return append(b, 0) }
	if _, err := k.Sign(nil, d[:32], nil); err == nil {
		t.Error("trailing byte accepted")
	}
	s.corrupt = nil
	if _, err := k.RSA(); !errors.Is(err, ErrNotSupported) {
		t.Errorf("RSA() of an EC key: %v", err)
	}
	if _, ok := k.PrivateKey().(crypto.Decrypter); ok {
		t.Error("an EC key's PrivateKey() is a crypto.Decrypter: crypto/tls would refuse it")
	}
	// ECDH against a crypto/ecdh peer equals the Go computation.
	peer, _ := ecdh.P384().GenerateKey(rand.Reader)
	z, err := k.ECDH(peer.PublicKey())
	e, _ := ec.ECDH()
	want, _ := peer.ECDH(e.PublicKey())
	if err != nil || !bytes.Equal(z, want) {
		t.Errorf("ECDH = %X, %v; want %X", z, err, want)
	}
	if _, err := k.ECDH(&testRSAKey(t).PublicKey); err == nil {
		t.Error("ECDH with an RSA peer accepted")
	}
	other, _ := ecdh.P256().GenerateKey(rand.Reader)
	if _, err := k.ECDH(other.PublicKey()); err == nil {
		t.Error("ECDH with a P-256 peer accepted for a P-384 key")
	}
}

func TestKeyX25519(t *testing.T) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	s := &softCard{x: x}
	k, err := New(s).Key(0x01, x.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Sign(nil, make([]byte, 32), crypto.SHA256); !errors.Is(err, ErrNotSupported) || len(s.sent) != 0 {
		t.Fatalf("Sign with X25519: %v", err)
	}
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	z, err := k.ECDH(peer.PublicKey())
	want, _ := peer.ECDH(x.PublicKey())
	if err != nil || !bytes.Equal(z, want) || !bytes.Equal(s.sent[0].Data, peer.PublicKey().Bytes()) {
		t.Fatalf("ECDH = %X, %v", z, err)
	}
	if _, err := New(s).Key(0x00, x.PublicKey()); err == nil {
		t.Error("key 00 accepted")
	}
	if _, err := New(s).Key(0x01, "not a key"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("string public key: %v", err)
	}
}

// The Key plugs into x509.CreateCertificate and crypto/tls.
func TestKeyX509AndTLS(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		card *softCard
		pub  crypto.PublicKey
		alg  x509.SignatureAlgorithm
	}{
		{"RSA PKCS#1", &softCard{rsa: testRSAKey(t)}, &testRSAKey(t).PublicKey, x509.SHA256WithRSA},
		{"RSA PSS", &softCard{rsa: testRSAKey(t)}, &testRSAKey(t).PublicKey, x509.SHA256WithRSAPSS},
		{"P-256", &softCard{ec: ec}, &ec.PublicKey, x509.ECDSAWithSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := New(tc.card).Key(0x01, tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pico-hsm test"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"hsm.test"},
				SignatureAlgorithm: tc.alg, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, tc.pub, k)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Fatal(err)
			}
			// TLS 1.3 (RSA: PSS) and TLS 1.2 (RSA: PKCS#1 v1.5).
			for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
				pool := x509.NewCertPool()
				pool.AddCert(cert)
				srv, cli := net.Pipe()
				done := make(chan error, 1)
				go func() {
					s := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k.PrivateKey()}},
						MinVersion: v, MaxVersion: v})
					done <- s.Handshake()
					srv.Close() // not s.Close: its close_notify would wait on the synchronous pipe
				}()
				c := tls.Client(cli, &tls.Config{RootCAs: pool, ServerName: "hsm.test", MinVersion: v, MaxVersion: v})
				err := c.Handshake()
				cli.Close()
				if serr := <-done; err != nil || serr != nil {
					t.Fatalf("TLS %x handshake: client %v, server %v", v, err, serr)
				}
			}
		})
	}
}

func TestUnpad(t *testing.T) {
	good := append([]byte{0x00, 0x02}, bytes.Repeat([]byte{0x11}, 8)...)
	good = append(good, 0x00, 'h', 'i')
	for _, tc := range []struct {
		name  string
		em    []byte
		valid int
	}{
		{"good", good, 1},
		{"first byte", append([]byte{0x01}, good[1:]...), 0},
		{"block type 1", append([]byte{0x00, 0x01}, good[2:]...), 0},
		{"padding of 7", append(append([]byte{0x00, 0x02}, bytes.Repeat([]byte{0x11}, 7)...), 0x00, 'h', 'i', 'x'), 0},
		{"no zero", append([]byte{0x00, 0x02}, bytes.Repeat([]byte{0x11}, 12)...), 0},
		{"short", good[:10], 0},
	} {
		valid, index := unpadPKCS1(tc.em)
		if valid != tc.valid || (valid == 1 && string(tc.em[index:]) != "hi") {
			t.Errorf("%s: valid %d index %d", tc.name, valid, index)
		}
	}
	if _, err := unpadOAEP(make([]byte, 20), sha256.New(), sha256.New(), nil); !errors.Is(err, rsa.ErrDecryption) {
		t.Errorf("short OAEP block: %v", err)
	}
}
