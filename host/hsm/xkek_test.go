package hsm

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/tlv"
)

// The KDM layout of pico-hsm-extensions.md 4.3: 30 { 06 OID, 61, 62, 63, 54 }.
func TestKDMRoundTrip(t *testing.T) {
	// A minimal 67 object: 7F21 { 7F4E {...}, 5F37 }, 42, 5F37 (contents are not checked here
	// beyond the structure ParseAuthenticatedRequest needs).
	body := tlv.Encode(0x7F4E, cat(tlv.Encode(0x5F29, []byte{0}), tlv.Encode(0x42, []byte("ZZCA00001")),
		tlv.Encode(0x7F49, cat(tlv.Encode(0x06, []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03}),
			tlv.Encode(0x86, append([]byte{4}, bytes.Repeat([]byte{1}, 64)...)))),
		tlv.Encode(0x5F20, []byte("ZZGS00001"))))
	cert := tlv.Encode(0x7F21, cat(body, tlv.Encode(0x5F37, bytes.Repeat([]byte{2}, 64))))
	req := tlv.Encode(0x67, cat(cert, tlv.Encode(0x42, []byte("ZZDV00001")), tlv.Encode(0x5F37, bytes.Repeat([]byte{3}, 64))))
	k := &KDM{DV: cert, Holder: cert, GroupKey: req, Signature: bytes.Repeat([]byte{4}, 64)}
	b := k.Encode()
	if !bytes.HasPrefix(b, []byte{0x30, 0x82}) || !bytes.Contains(b, append([]byte{0x06, 0x0B}, OIDKDM...)) {
		t.Fatalf("encoding % X", b[:16])
	}
	got, err := ParseKDM(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.DV, cert) || !bytes.Equal(got.Holder, cert) || !bytes.Equal(got.GroupKey, req) || !bytes.Equal(got.Signature, k.Signature) {
		t.Error("round trip differs")
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, tlv.Encode(0x30, tlv.Encode(0x06, []byte{1, 2})),
		tlv.Encode(0x31, b), b[:len(b)-1]} {
		if _, err := ParseKDM(bad); err == nil {
			t.Errorf("ParseKDM(% X) accepted", bad)
		}
	}
}

func TestMembershipDigest(t *testing.T) {
	x, y := bytes.Repeat([]byte{0xAB}, 32), bytes.Repeat([]byte{0xCD}, 32)
	got, err := MembershipDigest(cat([]byte{4}, x, y))
	want := sha256.Sum256(append([]byte{0x54}, x...))
	if err != nil || !bytes.Equal(got, want[:]) {
		t.Errorf("digest %X, %v; want %X", got, err, want)
	}
	if _, err := MembershipDigest(cat([]byte{2}, x)); err == nil {
		t.Error("compressed point accepted")
	}
}
