package hsm

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/dkek"
	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// RFC 4493 section 4, AES-128 examples 1-4: the CMAC that the SM code uses.
func TestSMCMACRFC4493(t *testing.T) {
	key := unhexSM("2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhexSM("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		got, err := dkek.CMAC(key, msg[:tc.n])
		if err != nil || hex.EncodeToString(got) != tc.want {
			t.Errorf("CMAC(%d bytes) = %x, %v; want %s", tc.n, got, err, tc.want)
		}
	}
}

func unhexSM(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// wrapResponse is the card's side of 5.7 (87 01 E(pad(data)), 99 SW, 8E MAC), written here
// from the spec to produce the known-answer vectors of firmware/tests/test_sm.c.
func wrapResponse(s *SecureChannel, data []byte, sw uint16) []byte {
	s.incSSC()
	var out []byte
	if len(data) > 0 {
		ct, _ := s.cbc(true, pad(data))
		out = tlv.Append(out, 0x87, append([]byte{0x01}, ct...))
	}
	out = tlv.Append(out, 0x99, []byte{byte(sw >> 8), byte(sw)})
	m, _ := s.mac(pad(out))
	return append(tlv.Append(out, 0x8E, m), 0x90, 0x00)
}

// Known-answer vectors shared with firmware/tests/test_sm.c (computed here with crypto/aes,
// crypto/sha1 and the RFC 4493-checked CMAC above; the C side computes them with mbedTLS).
// Z and r are arbitrary; the terminal key is the P-256 base point G; the card answers 9000 to
// command 1 (VERIFY, data, no Le) and 01..08 9000 to command 2 (GET CHALLENGE, Le, no data).
var smKAT = map[string]string{
	"z":     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	"r":     "a0a1a2a3a4a5a6a7",
	"kenc":  "59f1415f6fb4a3d59366710f4e39da16",
	"kmac":  "885bbc20689bb4420cb30e38b4b71c63",
	"token": "f7ab38985fcd3921",
	"cmd1":  "0020008106313233343536",
	"prot1": "0c20008100001d871101bf5b7e9bb523d0b33e93eb95f018016e8e08f4f71491f590f28e0000",
	"resp1": "990290008e08faa280423e59bb359000",
	"cmd2":  "0084000008",
	"prot2": "0c84000000000d9701088e08fd42fe852ac67bfb0000",
	"resp2": "871101f55b733e13fa66c7003eed9fb2787bb7990290008e08b214e1078d31406a9000",
}

func TestSMKnownAnswers(t *testing.T) {
	z, r := unhexSM(smKAT["z"]), unhexSM(smKAT["r"])
	kenc, kmac := SessionKeys(z, r)
	g := elliptic.Marshal(elliptic.P256(), elliptic.P256().Params().Gx, elliptic.P256().Params().Gy)
	token, err := AuthToken(kmac, g)
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTransport{}
	card := NewSecureChannel(nil, kenc, kmac) // plays the card, in step with the client
	s := NewSecureChannel(ft, kenc, kmac)
	card.incSSC() // the card counts the command before answering
	resp1 := wrapResponse(card, nil, 0x9000)
	card.incSSC()
	resp2 := wrapResponse(card, unhexSM("0102030405060708"), 0x9000)
	ft.replies = [][]byte{resp1, resp2}
	got1, err := s.Transmit(context.Background(), unhexSM(smKAT["cmd1"]))
	if err != nil || !bytes.Equal(got1, []byte{0x90, 0x00}) {
		t.Fatalf("response 1: %x %v", got1, err)
	}
	got2, err := s.Transmit(context.Background(), unhexSM(smKAT["cmd2"]))
	if err != nil || hex.EncodeToString(got2) != "01020304050607089000" {
		t.Fatalf("response 2: %x %v", got2, err)
	}
	for name, got := range map[string][]byte{"kenc": kenc, "kmac": kmac, "token": token,
		"prot1": ft.sent[0], "resp1": resp1, "prot2": ft.sent[1], "resp2": resp2} {
		if hex.EncodeToString(got) != smKAT[name] {
			t.Errorf("%s = %x, want %s", name, got, smKAT[name])
		}
	}
	// A response with one bit changed, or replayed, does not verify.
	s2 := NewSecureChannel(nil, kenc, kmac)
	s2.incSSC()
	bad := bytes.Clone(resp1)
	bad[len(bad)-3] ^= 1
	if _, err := s2.Unwrap(bad); !errors.Is(err, ErrSecureMessaging) {
		t.Errorf("tampered response: %v", err)
	}
	if _, err := s.Unwrap(resp2); !errors.Is(err, ErrSecureMessaging) {
		t.Errorf("replayed response: %v", err)
	}
}
