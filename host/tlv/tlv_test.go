package tlv

import (
	"bytes"
	"errors"
	"testing"
)

func fill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestEncodeLengths(t *testing.T) {
	for _, tc := range []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x04, 0x00}},
		{1, []byte{0x04, 0x01}},
		{127, []byte{0x04, 0x7F}},
		{128, []byte{0x04, 0x81, 0x80}},
		{255, []byte{0x04, 0x81, 0xFF}},
		{256, []byte{0x04, 0x82, 0x01, 0x00}},
		{65535, []byte{0x04, 0x82, 0xFF, 0xFF}},
		{65536, []byte{0x04, 0x83, 0x01, 0x00, 0x00}},
	} {
		v := fill(tc.n)
		got := Encode(0x04, v)
		if want := cat(tc.header, v); !bytes.Equal(got, want) {
			t.Errorf("Encode(len %d) header = % X, want % X", tc.n, got[:len(tc.header)], tc.header)
			continue
		}
		list, err := Parse(got)
		if err != nil || len(list) != 1 {
			t.Errorf("Parse(len %d) = %d objects, %v", tc.n, len(list), err)
			continue
		}
		if !bytes.Equal(list[0].Value, v) || !bytes.Equal(list[0].Raw, got) {
			t.Errorf("Parse(len %d): value or raw differs", tc.n)
		}
	}
}

func TestEncodeTags(t *testing.T) {
	for _, tc := range []struct {
		tag  uint32
		want []byte
	}{
		{0x00, []byte{0x00, 0x01, 0xAA}},
		{0x85, []byte{0x85, 0x01, 0xAA}},
		{0x5F20, []byte{0x5F, 0x20, 0x01, 0xAA}},
		{0x7F21, []byte{0x7F, 0x21, 0x01, 0xAA}},
		{0x1F8101, []byte{0x1F, 0x81, 0x01, 0x01, 0xAA}},
		{0xDF818201, []byte{0xDF, 0x81, 0x82, 0x01, 0x01, 0xAA}},
	} {
		if got := Encode(tc.tag, []byte{0xAA}); !bytes.Equal(got, tc.want) {
			t.Errorf("Encode(%X) = % X, want % X", tc.tag, got, tc.want)
		}
	}
}

func TestEncodePanics(t *testing.T) {
	for _, tag := range []uint32{0x1F, 0x9F, 0x8101, 0x5F80, 0x5F2001, 0x1F0101, 0x1F818181} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Encode(%X) did not panic", tag)
				}
			}()
			Encode(tag, nil)
		}()
	}
}

func TestParseNested(t *testing.T) {
	// 62 { 82 01 38, A5 { 80 01 05 }, 7F21 { 5F20 02 AB CD } }, 90 02 01 02
	inner := cat(Encode(0x80, []byte{0x05}))
	cert := Encode(0x7F21, Encode(0x5F20, []byte{0xAB, 0xCD}))
	fcp := Encode(0x62, cat(Encode(0x82, []byte{0x38}), Encode(0xA5, inner), cert))
	in := cat(fcp, Encode(0x90, []byte{1, 2}))

	top, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].Tag != 0x62 || !top[0].Constructed || top[1].Tag != 0x90 || top[1].Constructed {
		t.Fatalf("top = %+v", top)
	}
	if !bytes.Equal(top[0].Raw, fcp) {
		t.Errorf("Raw = % X, want % X", top[0].Raw, fcp)
	}
	kids, err := top[0].Children()
	if err != nil || len(kids) != 3 {
		t.Fatalf("Children = %d, %v", len(kids), err)
	}
	a5, ok := Find(kids, 0xA5)
	if !ok || !a5.Constructed {
		t.Fatalf("Find(A5) = %+v, %v", a5, ok)
	}
	gk, err := a5.Children()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := Find(gk, 0x80); !ok || !bytes.Equal(v.Value, []byte{0x05}) {
		t.Errorf("A5/80 = %+v, %v", v, ok)
	}
	c, ok := Find(kids, 0x7F21)
	if !ok || !c.Constructed {
		t.Fatalf("Find(7F21) = %+v", c)
	}
	cc, err := c.Children()
	if err != nil || len(cc) != 1 || cc[0].Tag != 0x5F20 || cc[0].Constructed {
		t.Fatalf("7F21 children = %+v, %v", cc, err)
	}
	if _, ok := Find(kids, 0x80); ok {
		t.Error("Find descended into children")
	}
	// A primitive value that is not TLV fails to parse as children.
	if _, err := top[1].Children(); err == nil {
		t.Error("Children of 90 01 02 parsed")
	}
}

func TestParseAcceptsNonMinimalLength(t *testing.T) {
	list, err := Parse([]byte{0x04, 0x82, 0x00, 0x01, 0xAA})
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].Value, []byte{0xAA}) {
		t.Fatalf("Parse = %+v, %v", list, err)
	}
}

func TestParseEmpty(t *testing.T) {
	list, err := Parse(nil)
	if err != nil || len(list) != 0 {
		t.Fatalf("Parse(nil) = %v, %v", list, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"missing length", []byte{0x04}},
		{"truncated two-byte tag", []byte{0x5F}},
		{"truncated three-byte tag", []byte{0x5F, 0x81}},
		{"tag of 5 bytes", []byte{0x5F, 0x81, 0x81, 0x81, 0x01, 0x00}},
		{"indefinite length", []byte{0x30, 0x80, 0x00, 0x00}},
		{"length field of 4 bytes", []byte{0x04, 0x84, 0x00, 0x00, 0x00, 0x01, 0xAA}},
		{"length field FF", []byte{0x04, 0xFF}},
		{"truncated 81", []byte{0x04, 0x81}},
		{"truncated 82", []byte{0x04, 0x82, 0x01}},
		{"truncated 83", []byte{0x04, 0x83, 0x01, 0x00}},
		{"short value", []byte{0x04, 0x02, 0xAA}},
		{"short value 81", cat([]byte{0x04, 0x81, 0x80}, fill(127))},
		{"short value 82", cat([]byte{0x04, 0x82, 0x01, 0x00}, fill(255))},
		{"short value 83", cat([]byte{0x04, 0x83, 0x01, 0x00, 0x00}, fill(65535))},
		{"second object truncated", []byte{0x04, 0x01, 0xAA, 0x05}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse = %+v, want error", list)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
		})
	}
}

// minimalHeader reports whether t was written with the shortest length field.
func minimalHeader(t TLV) bool {
	tb, _ := tagBytes(t.Tag)
	return len(t.Raw)-len(t.Value) == len(tb)+len(lengthBytes(len(t.Value)))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x62, 0x05, 0x85, 0x03, 0xFF, 0x06, 0x06})
	f.Add([]byte{0x7F, 0x21, 0x04, 0x5F, 0x20, 0x01, 0xAA})
	f.Add([]byte{0x04, 0x81, 0x80})
	f.Add([]byte{0x04, 0x82, 0x00, 0x01, 0xAA})
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte{0x1F, 0x81, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		list, err := Parse(in)
		if err != nil {
			return
		}
		var raw, enc []byte
		canonical := true
		for _, o := range list {
			raw = append(raw, o.Raw...)
			enc = Append(enc, o.Tag, o.Value) // a parsed tag is always encodable
			canonical = canonical && minimalHeader(o)
			if len(o.Value) > 0 && o.Constructed {
				o.Children() // must not panic
			}
		}
		if !bytes.Equal(raw, in) {
			t.Fatalf("Raw fields do not cover the input")
		}
		if canonical && !bytes.Equal(enc, in) {
			t.Fatalf("Encode(Parse(% X)) = % X", in, enc)
		}
		again, err := Parse(enc)
		if err != nil || len(again) != len(list) {
			t.Fatalf("re-parse: %d objects, %v", len(again), err)
		}
		for i := range again {
			if again[i].Tag != list[i].Tag || !bytes.Equal(again[i].Value, list[i].Value) {
				t.Fatalf("object %d changed on re-encoding", i)
			}
		}
	})
}
