package dkek

// n-of-m protection of a share file's password (spec smartcard-hsm-core.md 4.3), as
// sc-hsm-tool --pwd-shares-threshold/--pwd-shares-total does it: the 8-byte password, read
// as a big-endian integer s, is the constant term of a random polynomial of degree t-1
// over GF(p), p a 64-bit safe prime; custodian x (1..n) gets f(x). Any t shares give s
// back by Lagrange interpolation at 0; fewer give a value unrelated to s.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
)

// PasswordSize is the length of a generated share-file password.
const PasswordSize = 8

// PasswordShare is one custodian's share: ID x and value f(x).
type PasswordShare struct {
	ID    int
	Value *big.Int
}

// PasswordSplit is the result of SplitNewPassword.
type PasswordSplit struct {
	// Password is the 8 random bytes the share file is encrypted with.
	Password []byte
	// Prime is the public modulus, the same for every custodian.
	Prime  *big.Int
	Shares []PasswordShare
}

var (
	one = big.NewInt(1)
	two = big.NewInt(2)
)

// SplitNewPassword makes a random password and splits it into n shares of which t
// recombine it (2 <= t <= n, 3 <= n <= 255, as sc-hsm-tool requires). The password's first
// byte is in 01..7F: below 2^63, so under any 64-bit prime, and without a leading zero byte,
// which sc-hsm-tool's reconstruction would drop (spec 4.3).
func SplitNewPassword(rnd io.Reader, t, n int) (*PasswordSplit, error) {
	if t < 2 || n < 3 || t > n || n > 255 {
		return nil, fmt.Errorf("dkek: threshold %d of %d shares (want 2 <= t <= n, 3 <= n <= 255)", t, n)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	pw := make([]byte, PasswordSize)
	for pw[0] == 0 {
		if _, err := io.ReadFull(rnd, pw); err != nil {
			return nil, fmt.Errorf("dkek: random password: %w", err)
		}
		pw[0] &= 0x7F
	}
	p, err := safePrime64(rnd)
	if err != nil {
		return nil, err
	}
	s := new(big.Int).SetBytes(pw)
	coef := []*big.Int{s}
	for i := 1; i < t; i++ {
		a, err := rand.Int(rnd, p)
		if err != nil {
			return nil, fmt.Errorf("dkek: random coefficient: %w", err)
		}
		coef = append(coef, a)
	}
	shares := make([]PasswordShare, n)
	for x := 1; x <= n; x++ {
		// Horner: f(x) = (...(a_{t-1} x + a_{t-2}) x + ...) x + s mod p.
		y := new(big.Int)
		bx := big.NewInt(int64(x))
		for i := t - 1; i >= 0; i-- {
			y.Mul(y, bx).Add(y, coef[i]).Mod(y, p)
		}
		shares[x-1] = PasswordShare{ID: x, Value: y}
	}
	return &PasswordSplit{Password: pw, Prime: p, Shares: shares}, nil
}

// safePrime64 returns a prime p of exactly 64 bits with (p-1)/2 prime, as OpenSSL's
// BN_generate_prime_ex(p, 64, safe=1) does.
func safePrime64(rnd io.Reader) (*big.Int, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return nil, fmt.Errorf("dkek: random prime: %w", err)
		}
		b[0] |= 0x40 // q has 63 bits, so p = 2q+1 has 64
		b[0] &= 0x7F
		b[7] |= 1
		q := new(big.Int).SetBytes(b[:])
		if !q.ProbablyPrime(20) {
			continue
		}
		p := new(big.Int).Add(new(big.Int).Lsh(q, 1), one)
		if p.ProbablyPrime(20) {
			return p, nil
		}
	}
}

// CombinePassword recombines a password from t shares (Lagrange interpolation at 0 modulo
// prime) and returns it as sc-hsm-tool does: the big-endian bytes without leading zeros.
// Shares must have distinct IDs. With fewer shares than the threshold the result is a
// wrong password, which OpenShareFile rejects.
func CombinePassword(prime *big.Int, shares []PasswordShare) ([]byte, error) {
	if prime == nil || prime.Cmp(two) <= 0 {
		return nil, errors.New("dkek: no prime")
	}
	if len(shares) == 0 {
		return nil, errors.New("dkek: no password shares")
	}
	seen := map[int]bool{}
	for _, s := range shares {
		if s.ID <= 0 || seen[s.ID] || s.Value == nil {
			return nil, fmt.Errorf("dkek: password share ID %d is invalid or repeated", s.ID)
		}
		seen[s.ID] = true
	}
	sum := new(big.Int)
	for i, si := range shares {
		num, den := big.NewInt(1), big.NewInt(1)
		for j, sj := range shares {
			if i == j {
				continue
			}
			num.Mul(num, big.NewInt(int64(sj.ID)))
			den.Mul(den, big.NewInt(int64(sj.ID-si.ID)))
		}
		den.Mod(den, prime)
		if den.ModInverse(den, prime) == nil {
			return nil, errors.New("dkek: password shares do not fit the prime")
		}
		term := num.Mul(num, den)
		term.Mul(term, si.Value)
		sum.Add(sum, term)
	}
	sum.Mod(sum, prime)
	return sum.Bytes(), nil
}

// FormatColonHex renders b as sc-hsm-tool prints the prime and share values: upper-case
// hex bytes separated by ':'.
func FormatColonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// ParseColonHex reads a number written as hex bytes with or without ':' or spaces.
func ParseColonHex(s string) (*big.Int, error) {
	h := strings.Map(func(r rune) rune {
		if r == ':' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	v, ok := new(big.Int).SetString(h, 16)
	if !ok || h == "" {
		return nil, fmt.Errorf("dkek: %q is not a hex number", s)
	}
	return v, nil
}

// ParseShareID reads a share ID. sc-hsm-tool prints it in decimal and reads it back as
// hex (BN_hex2bn); IDs 1..9, the usual ones, read the same either way. Decimal is used here.
func ParseShareID(s string) (int, error) {
	id, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || id < 1 || id > 255 {
		return 0, fmt.Errorf("dkek: share ID %q (want 1..255)", s)
	}
	return id, nil
}
