package hsm

// The table runner for the typed calls' tests: exact APDU bytes against a fake transport.

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func ptr(n int) *int { return &n }

// callCase is one typed call: the replies the card gives, the APDUs that must be sent, and
// the expected outcome. got, when set, must deep-equal what call returned.
type callCase struct {
	name    string
	call    func(ctx context.Context, c *Client) (any, error)
	replies []string
	sent    []string // nil: nothing may be sent
	want    any
	wantErr bool
	wantIs  error
}

func runCalls(t *testing.T, cases []callCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTransport{}
			for _, r := range tc.replies {
				ft.replies = append(ft.replies, h(r))
			}
			got, err := tc.call(context.Background(), New(ft))
			if len(ft.sent) != len(tc.sent) {
				t.Fatalf("sent %d APDUs % X, want %d", len(ft.sent), ft.sent, len(tc.sent))
			}
			for i, s := range tc.sent {
				if want := h(s); !bytes.Equal(ft.sent[i], want) {
					t.Errorf("APDU %d = % X, want % X", i, ft.sent[i], want)
				}
			}
			if len(ft.replies) != 0 {
				t.Errorf("%d replies left unused", len(ft.replies))
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Fatalf("error %v is not %v", err, tc.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

var (
	pin648219 = []byte("648219")
	soPIN     = []byte("57621880") // "3537363231383830" in hex, as in section 5.4
)
