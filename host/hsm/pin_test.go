package hsm

// The PIN commands (sections 2.6-2.8): exact APDUs and status word decoding.

import (
	"context"
	"errors"
	"testing"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// Sections 2.6, 3.8: every status word of the status query.
func TestPINStatus(t *testing.T) {
	status := func(ref PINRef) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return c.PINStatus(ctx, ref) }
	}
	runCalls(t, []callCase{
		{name: "user 3 tries", call: status(UserPIN), replies: []string{"63C3"}, sent: []string{"00 20 00 81"},
			want: PINStatus{State: PINNotVerified, TriesLeft: 3}},
		{name: "SO 15 tries", call: status(SOPIN), replies: []string{"63CF"}, sent: []string{"00 20 00 88"},
			want: PINStatus{State: PINNotVerified, TriesLeft: 15}},
		{name: "verified", call: status(UserPIN), replies: []string{"9000"}, sent: []string{"00 20 00 81"},
			want: PINStatus{State: PINVerified}},
		{name: "blocked", call: status(UserPIN), replies: []string{"6983"}, sent: []string{"00 20 00 81"},
			want: PINStatus{State: PINBlocked}},
		{name: "63C0 is zero tries", call: status(UserPIN), replies: []string{"63C0"}, sent: []string{"00 20 00 81"},
			want: PINStatus{State: PINNotVerified}},
		{name: "transport", call: status(UserPIN), replies: []string{"6984"}, sent: []string{"00 20 00 81"},
			want: PINStatus{State: PINTransport}},
		{name: "not initialised", call: status(SOPIN), replies: []string{"6A88"}, sent: []string{"00 20 00 88"},
			want: PINStatus{State: PINNotInitialized}},
		{name: "other SW", call: status(UserPIN), replies: []string{"6F00"}, sent: []string{"00 20 00 81"},
			wantErr: true, wantIs: apdu.ErrNoDiagnosis},
	})
	for _, tc := range []struct {
		s    PINStatus
		want string
	}{
		{PINStatus{State: PINNotVerified, TriesLeft: 2}, "2 tries left"},
		{PINStatus{State: PINVerified}, "verified"},
		{PINStatus{State: PINBlocked}, "blocked"},
		{PINStatus{State: PINTransport}, "transport PIN, must be changed"},
		{PINStatus{State: PINNotInitialized}, "not initialised"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// Section 2.6.
func TestVerify(t *testing.T) {
	verify := func(ref PINRef, pin []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return nil, c.Verify(ctx, ref, pin) }
	}
	runCalls(t, []callCase{
		{name: "user right", call: verify(UserPIN, pin648219), replies: []string{"9000"}, sent: []string{"00 20 00 81 06 363438323139"}},
		{name: "SO right", call: verify(SOPIN, soPIN), replies: []string{"9000"}, sent: []string{"00 20 00 88 08 3537363231383830"}},
		{name: "binary PIN", call: verify(UserPIN, h("00FF00FF00FF")), replies: []string{"9000"}, sent: []string{"00 20 00 81 06 00FF00FF00FF"}},
		{name: "wrong", call: verify(UserPIN, []byte("000000")), replies: []string{"63C2"}, sent: []string{"00 20 00 81 06 303030303030"},
			wantErr: true, wantIs: apdu.WrongPINError{Retries: 2}},
		{name: "blocked", call: verify(UserPIN, []byte("000000")), replies: []string{"6983"}, sent: []string{"00 20 00 81 06 303030303030"},
			wantErr: true, wantIs: apdu.ErrBlocked},
		{name: "transport", call: verify(UserPIN, pin648219), replies: []string{"6984"}, sent: []string{"00 20 00 81 06 363438323139"},
			wantErr: true, wantIs: apdu.ErrReferenceDataUnusable},
		{name: "empty PIN never becomes a status query", call: verify(UserPIN, nil), wantErr: true},
		{name: "256-byte PIN", call: verify(UserPIN, make([]byte, 256)), wantErr: true},
	})
	// The retries travel in the error.
	ft := &fakeTransport{replies: [][]byte{h("63C1")}}
	var wp apdu.WrongPINError
	if err := New(ft).Verify(context.Background(), UserPIN, []byte("111111")); !errors.As(err, &wp) || wp.Retries != 1 {
		t.Errorf("err = %v, want WrongPINError{1}", err)
	}
}

// Section 2.7.
func TestChangePIN(t *testing.T) {
	change := func(ref PINRef, oldPIN, newPIN []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) { return nil, c.ChangePIN(ctx, ref, oldPIN, newPIN) }
	}
	runCalls(t, []callCase{
		{name: "user", call: change(UserPIN, pin648219, []byte("123456")), replies: []string{"9000"},
			sent: []string{"00 24 00 81 0C 363438323139 313233343536"}},
		{name: "user to 16 bytes", call: change(UserPIN, pin648219, []byte("0123456789abcdef")), replies: []string{"9000"},
			sent: []string{"00 24 00 81 16 363438323139 30313233343536373839616263646566"}},
		{name: "SO", call: change(SOPIN, soPIN, h("0102030405060708")), replies: []string{"9000"},
			sent: []string{"00 24 00 88 10 3537363231383830 0102030405060708"}},
		{name: "wrong old", call: change(UserPIN, []byte("000000"), []byte("123456")), replies: []string{"63C2"},
			sent: []string{"00 24 00 81 0C 303030303030 313233343536"}, wantErr: true, wantIs: apdu.WrongPINError{Retries: 2}},
		{name: "wrong length", call: change(UserPIN, pin648219, []byte("1234567890abcdefg")), replies: []string{"6700"},
			sent: []string{"00 24 00 81 17 363438323139 31323334353637383930616263646566 67"}, wantErr: true, wantIs: apdu.ErrWrongLength},
		{name: "SO new 7 bytes", call: change(SOPIN, soPIN, soPIN[:7]), wantErr: true},
		{name: "empty new", call: change(UserPIN, pin648219, nil), wantErr: true},
		{name: "empty old", call: change(UserPIN, nil, pin648219), wantErr: true},
	})
}

// Section 2.8.
func TestResetRetryCounter(t *testing.T) {
	reset := func(mode ResetMode, so, newPIN []byte) func(context.Context, *Client) (any, error) {
		return func(ctx context.Context, c *Client) (any, error) {
			return nil, c.ResetRetryCounter(ctx, mode, so, newPIN)
		}
	}
	runCalls(t, []callCase{
		{name: "P1 00", call: reset(ResetWithSOPINNewPIN, soPIN, []byte("123456")), replies: []string{"9000"},
			sent: []string{"00 2C 00 81 0E 3537363231383830 313233343536"}},
		{name: "P1 01", call: reset(ResetWithSOPIN, soPIN, nil), replies: []string{"9000"},
			sent: []string{"00 2C 01 81 08 3537363231383830"}},
		{name: "P1 02", call: reset(ResetNewPIN, nil, []byte("123456")), replies: []string{"9000"},
			sent: []string{"00 2C 02 81 06 313233343536"}},
		{name: "P1 03", call: reset(ResetOnly, nil, nil), replies: []string{"9000"}, sent: []string{"00 2C 03 81"}},
		{name: "wrong SO-PIN", call: reset(ResetWithSOPIN, soPIN, nil), replies: []string{"63CE"},
			sent: []string{"00 2C 01 81 08 3537363231383830"}, wantErr: true, wantIs: apdu.WrongPINError{Retries: 14}},
		{name: "disabled", call: reset(ResetWithSOPIN, soPIN, nil), replies: []string{"6986"},
			sent: []string{"00 2C 01 81 08 3537363231383830"}, wantErr: true, wantIs: apdu.ErrCommandNotAllowed},
		{name: "SO not verified", call: reset(ResetOnly, nil, nil), replies: []string{"6985"},
			sent: []string{"00 2C 03 81"}, wantErr: true, wantIs: apdu.ErrConditions},
		{name: "P1 00 without new PIN", call: reset(ResetWithSOPINNewPIN, soPIN, nil), wantErr: true},
		{name: "P1 00 short SO-PIN", call: reset(ResetWithSOPINNewPIN, soPIN[:7], []byte("123456")), wantErr: true},
		{name: "P1 01 with new PIN", call: reset(ResetWithSOPIN, soPIN, []byte("123456")), wantErr: true},
		{name: "P1 02 with SO-PIN", call: reset(ResetNewPIN, soPIN, []byte("123456")), wantErr: true},
		{name: "P1 03 with data", call: reset(ResetOnly, nil, []byte("123456")), wantErr: true},
		{name: "P1 04", call: reset(4, nil, nil), wantErr: true},
	})
}

func TestPINRefString(t *testing.T) {
	for ref, want := range map[PINRef]string{UserPIN: "user PIN", SOPIN: "SO-PIN", 0x85: "PIN reference 85"} {
		if got := ref.String(); got != want {
			t.Errorf("%02X: %q, want %q", byte(ref), got, want)
		}
	}
}
