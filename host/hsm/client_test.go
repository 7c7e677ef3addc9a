package hsm

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// fakeTransport records every APDU sent and answers with canned responses in order.
type fakeTransport struct {
	sent    [][]byte
	replies [][]byte
	err     error
}

func (f *fakeTransport) Transmit(_ context.Context, b []byte) ([]byte, error) {
	f.sent = append(f.sent, bytes.Clone(b))
	if f.err != nil {
		return nil, f.err
	}
	if len(f.replies) == 0 {
		return nil, errors.New("fake: no reply left")
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	return r, nil
}

func (f *fakeTransport) ATR() []byte  { return []byte{0x3B, 0x00} }
func (f *fakeTransport) Close() error { return nil }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

var sw9000 = []byte{0x90, 0x00}

// picoFCP is Pico HSM's answer to SELECT (section 1.3.1) with options 0001, version 6.6.
var picoFCP = cat(
	[]byte{0x62, 0x22, 0x81, 0x02, 0x00, 0x00, 0x82, 0x01, 0x01, 0x83, 0x02, 0x00, 0x00, 0x84, 0x0B},
	AID,
	[]byte{0x8A, 0x01, 0x05, 0x85, 0x05, 0x00, 0x01, 0xFF, 0x06, 0x06},
)

func TestSelectApplet(t *testing.T) {
	wantSent := cat([]byte{0x00, 0xA4, 0x04, 0x00, 0x0B}, AID, []byte{0x00})
	for _, tc := range []struct {
		name    string
		reply   []byte
		want    AppletInfo
		wantIs  error
		wantErr bool
	}{
		{name: "pico answer", reply: cat(picoFCP, sw9000),
			want: AppletInfo{Options: 0x0001, HasOptions: true, Type: 0xFF, HasType: true, VersionMajor: 6, VersionMinor: 6}},
		{name: "recommended answer", reply: cat([]byte{0x62, 0x1A, 0x82, 0x01, 0x38, 0x84, 0x0B}, AID,
			[]byte{0x8A, 0x01, 0x05, 0x85, 0x05, 0x12, 0x34, 0x00, 0x01, 0x02}, sw9000),
			want: AppletInfo{Options: 0x1234, HasOptions: true, Type: 0x00, HasType: true, VersionMajor: 1, VersionMinor: 2}},
		{name: "FCI with 2-byte version", reply: cat([]byte{0x6F, 0x04, 0x85, 0x02, 0x03, 0x04}, sw9000),
			want: AppletInfo{VersionMajor: 3, VersionMinor: 4}},
		{name: "3 bytes: type, no options", reply: cat([]byte{0x62, 0x05, 0x85, 0x03, 0x01, 0x02, 0x05}, sw9000),
			want: AppletInfo{Type: 0x01, HasType: true, VersionMajor: 2, VersionMinor: 5}},
		{name: "A5 in place of 85", reply: cat([]byte{0x62, 0x04, 0xA5, 0x02, 0x03, 0x04}, sw9000),
			want: AppletInfo{VersionMajor: 3, VersionMinor: 4}},
		{name: "applet missing", reply: []byte{0x6A, 0x82}, wantIs: apdu.ErrFileNotFound, wantErr: true},
		{name: "wrong outer tag", reply: cat([]byte{0x63, 0x04, 0x85, 0x02, 0x03, 0x04}, sw9000), wantErr: true},
		{name: "no 85", reply: cat([]byte{0x62, 0x03, 0x82, 0x01, 0x38}, sw9000), wantErr: true},
		{name: "85 too short", reply: cat([]byte{0x62, 0x03, 0x85, 0x01, 0x06}, sw9000), wantErr: true},
		{name: "truncated FCP", reply: cat([]byte{0x62, 0x07, 0x85, 0x05, 0x00}, sw9000), wantErr: true},
		{name: "empty FCP", reply: sw9000, wantErr: true},
		{name: "trailing object", reply: cat([]byte{0x62, 0x04, 0x85, 0x02, 0x03, 0x04, 0x90, 0x00}, sw9000), wantErr: true},
		{name: "no status word", reply: []byte{0x90}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTransport{replies: [][]byte{tc.reply}}
			info, err := New(ft).SelectApplet(context.Background())
			if len(ft.sent) != 1 || !bytes.Equal(ft.sent[0], wantSent) {
				t.Fatalf("sent % X, want % X", ft.sent, wantSent)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("SelectApplet = %+v, want error", info)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Fatalf("error %v is not %v", err, tc.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(info.FCP, tc.reply[:len(tc.reply)-2]) {
				t.Errorf("FCP = % X", info.FCP)
			}
			got := *info
			got.FCP = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("info = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAppletInfoNames(t *testing.T) {
	for _, tc := range []struct {
		info AppletInfo
		name string
	}{
		{AppletInfo{Type: 0x00, HasType: true}, "SmartCard-HSM Applet for JCOP"},
		{AppletInfo{Type: 0x01, HasType: true}, "SmartCard-HSM Demo Applet for JCOP"},
		{AppletInfo{Type: 0xFF, HasType: true}, "SmartCard-HSM"},
		{AppletInfo{}, "SmartCard-HSM"},
	} {
		if got := tc.info.Name(); got != tc.name {
			t.Errorf("Name(%+v) = %q, want %q", tc.info, got, tc.name)
		}
	}
	if v := (&AppletInfo{VersionMajor: 6, VersionMinor: 10}).Version(); v != "6.10" {
		t.Errorf("Version = %q", v)
	}
}

func TestGetChallenge(t *testing.T) {
	random := func(n int) []byte { return bytes.Repeat([]byte{0xA5}, n) }
	for _, tc := range []struct {
		name    string
		n       int
		reply   []byte
		sent    []byte // nil: nothing may be sent
		wantErr bool
		wantIs  error
	}{
		{name: "1 byte", n: 1, reply: cat(random(1), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x01}},
		{name: "8 bytes", n: 8, reply: cat(random(8), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x08}},
		{name: "256 bytes short", n: 256, reply: cat(random(256), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x00}},
		{name: "257 bytes extended", n: 257, reply: cat(random(257), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x00, 0x01, 0x01}},
		{name: "1024 bytes", n: 1024, reply: cat(random(1024), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x00, 0x04, 0x00}},
		{name: "65536 bytes", n: 65536, reply: cat(random(65536), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}},
		{name: "fewer bytes tolerated", n: 16, reply: cat(random(8), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x10}},
		{name: "zero asked", n: 0, wantErr: true},
		{name: "too many asked", n: 65537, wantErr: true},
		{name: "empty answer", n: 8, reply: sw9000, sent: []byte{0x00, 0x84, 0x00, 0x00, 0x08}, wantErr: true},
		{name: "longer answer", n: 8, reply: cat(random(9), sw9000), sent: []byte{0x00, 0x84, 0x00, 0x00, 0x08}, wantErr: true},
		{name: "wrong length", n: 8, reply: []byte{0x67, 0x00}, sent: []byte{0x00, 0x84, 0x00, 0x00, 0x08}, wantErr: true, wantIs: apdu.ErrWrongLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTransport{replies: [][]byte{tc.reply}}
			got, err := New(ft).GetChallenge(context.Background(), tc.n)
			if tc.sent == nil && len(ft.sent) != 0 {
				t.Fatalf("sent % X, want nothing", ft.sent)
			}
			if tc.sent != nil && (len(ft.sent) != 1 || !bytes.Equal(ft.sent[0], tc.sent)) {
				t.Fatalf("sent % X, want % X", ft.sent, tc.sent)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("GetChallenge returned %d bytes, want error", len(got))
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Fatalf("error %v is not %v", err, tc.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.reply[:len(tc.reply)-2]; !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestTransmit(t *testing.T) {
	cmd := apdu.Command{CLA: 0x00, INS: 0xB1, P1: 0x2F, P2: 0x02, Data: []byte{0x54, 0x02, 0x00, 0x00}, Ne: 256}
	wantSent := []byte{0x00, 0xB1, 0x2F, 0x02, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00}

	t.Run("data kept with a warning", func(t *testing.T) {
		ft := &fakeTransport{replies: [][]byte{{0x01, 0x02, 0x62, 0x82}}}
		data, err := New(ft).Transmit(context.Background(), cmd)
		if !bytes.Equal(ft.sent[0], wantSent) {
			t.Fatalf("sent % X, want % X", ft.sent[0], wantSent)
		}
		if !errors.Is(err, apdu.ErrEndOfFile) || !bytes.Equal(data, []byte{0x01, 0x02}) {
			t.Fatalf("got % X, %v", data, err)
		}
	})
	t.Run("wrong PIN", func(t *testing.T) {
		ft := &fakeTransport{replies: [][]byte{{0x63, 0xC2}}}
		_, err := New(ft).Transmit(context.Background(), cmd)
		var wp apdu.WrongPINError
		if !errors.As(err, &wp) || wp.Retries != 2 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("transport error", func(t *testing.T) {
		cause := errors.New("reader gone")
		ft := &fakeTransport{err: cause}
		if _, err := New(ft).Transmit(context.Background(), cmd); !errors.Is(err, cause) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unencodable command", func(t *testing.T) {
		ft := &fakeTransport{}
		if _, err := New(ft).Transmit(context.Background(), apdu.Command{Ne: -1}); err == nil || len(ft.sent) != 0 {
			t.Fatalf("err = %v, sent %d", err, len(ft.sent))
		}
	})
}
