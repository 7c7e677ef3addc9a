package hsm

// The PIN model (section 3.8): VERIFY (2.6), its status query, CHANGE REFERENCE DATA (2.7)
// and RESET RETRY COUNTER (2.8).

import (
	"context"
	"errors"
	"fmt"

	"github.com/pico-hsm/pico-hsm/host/apdu"
)

// Instruction bytes of the PIN commands.
const (
	InsVerify            byte = 0x20
	InsChangeReference   byte = 0x24
	InsResetRetryCounter byte = 0x2C
)

// PINRef is a PIN reference, the P2 of the PIN commands (section 2.6).
type PINRef byte

// The two PIN references of the card.
const (
	UserPIN PINRef = 0x81
	SOPIN   PINRef = 0x88
)

func (r PINRef) String() string {
	switch r {
	case UserPIN:
		return "user PIN"
	case SOPIN:
		return "SO-PIN"
	}
	return fmt.Sprintf("PIN reference %02X", byte(r))
}

// PINState is what a status query (VERIFY without data) says about a PIN (section 2.6).
type PINState int

const (
	// PINNotVerified: set, not verified in this session; PINStatus.TriesLeft tries left (63Cx).
	PINNotVerified PINState = iota
	// PINVerified: verified in this session (9000).
	PINVerified
	// PINBlocked: no tries left (6983).
	PINBlocked
	// PINTransport: the user PIN is a transport PIN and must be changed first (6984).
	PINTransport
	// PINNotInitialized: the device has not been initialised (6A88).
	PINNotInitialized
)

func (s PINState) String() string {
	switch s {
	case PINNotVerified:
		return "not verified"
	case PINVerified:
		return "verified"
	case PINBlocked:
		return "blocked"
	case PINTransport:
		return "transport PIN, must be changed"
	case PINNotInitialized:
		return "not initialised"
	}
	return fmt.Sprintf("PINState(%d)", int(s))
}

// PINStatus is the decoded answer to a PIN status query.
type PINStatus struct {
	State PINState
	// TriesLeft is the remaining tries when State is PINNotVerified, 0 otherwise.
	TriesLeft int
}

func (s PINStatus) String() string {
	if s.State == PINNotVerified {
		return fmt.Sprintf("%d tries left", s.TriesLeft)
	}
	return s.State.String()
}

// PINStatus sends the status query 00 20 00 <ref> (VERIFY without data, section 2.6), which
// never changes a retry counter, and decodes its status word: 63Cx, 9000, 6983, 6984, 6A88.
// Any other status word is returned as an error.
func (c *Client) PINStatus(ctx context.Context, ref PINRef) (PINStatus, error) {
	_, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsVerify, P2: byte(ref)})
	var wp apdu.WrongPINError
	switch {
	case err == nil:
		return PINStatus{State: PINVerified}, nil
	case errors.As(err, &wp):
		return PINStatus{State: PINNotVerified, TriesLeft: wp.Retries}, nil
	case errors.Is(err, apdu.ErrBlocked):
		return PINStatus{State: PINBlocked}, nil
	case errors.Is(err, apdu.ErrReferenceDataUnusable):
		return PINStatus{State: PINTransport}, nil
	case errors.Is(err, apdu.ErrReferenceNotFound):
		return PINStatus{State: PINNotInitialized}, nil
	}
	return PINStatus{}, fmt.Errorf("%v status: %w", ref, err)
}

// Verify sends 00 20 00 <ref> Lc <pin> (section 2.6). A wrong PIN gives an
// apdu.WrongPINError with the tries left; apdu.ErrBlocked, apdu.ErrReferenceDataUnusable
// (transport PIN) and apdu.ErrReferenceNotFound (not initialised) are the other refusals. An
// empty pin is refused without sending anything: on the wire it would be a status query.
func (c *Client) Verify(ctx context.Context, ref PINRef, pin []byte) error {
	if len(pin) == 0 || len(pin) > apdu.MaxShortData {
		return fmt.Errorf("verify %v: PIN of %d bytes", ref, len(pin))
	}
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsVerify, P2: byte(ref), Data: pin}); err != nil {
		return fmt.Errorf("verify %v: %w", ref, err)
	}
	return nil
}

// ChangePIN sends CHANGE REFERENCE DATA 00 24 00 <ref> Lc <old><new> (section 2.7). The card
// splits the data at the length of the PIN it stores, so old must have that length. For the
// SO-PIN both are 8 bytes. On success the reference is verified and its counter at maximum;
// changing the user PIN also ends the transport-PIN state.
func (c *Client) ChangePIN(ctx context.Context, ref PINRef, oldPIN, newPIN []byte) error {
	if len(oldPIN) == 0 || len(newPIN) == 0 || len(oldPIN)+len(newPIN) > apdu.MaxShortData {
		return fmt.Errorf("change %v: PINs of %d and %d bytes", ref, len(oldPIN), len(newPIN))
	}
	if ref == SOPIN && (len(oldPIN) != SOPINLen || len(newPIN) != SOPINLen) {
		return fmt.Errorf("change %v: SO-PINs of %d and %d bytes, want %d", ref, len(oldPIN), len(newPIN), SOPINLen)
	}
	data := append(append(make([]byte, 0, len(oldPIN)+len(newPIN)), oldPIN...), newPIN...)
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsChangeReference, P2: byte(ref), Data: data}); err != nil {
		return fmt.Errorf("change %v: %w", ref, err)
	}
	return nil
}

// ResetMode is the P1 of RESET RETRY COUNTER (section 2.8).
type ResetMode byte

const (
	// ResetWithSOPINNewPIN (P1 00): data SO-PIN | new user PIN. OpenSC's C_InitPIN.
	ResetWithSOPINNewPIN ResetMode = 0x00
	// ResetWithSOPIN (P1 01): data SO-PIN; the counter is reset, the PIN kept.
	ResetWithSOPIN ResetMode = 0x01
	// ResetNewPIN (P1 02): data new user PIN; the SO-PIN was verified (VERIFY 88) before.
	ResetNewPIN ResetMode = 0x02
	// ResetOnly (P1 03): no data; the SO-PIN was verified before.
	ResetOnly ResetMode = 0x03
)

// ResetRetryCounter sends 00 2C <mode> 81 [Lc <data>] (section 2.8), which unblocks the user
// PIN (and, with a new PIN, replaces it). soPIN must be given exactly for the modes 00 and 01,
// newPIN exactly for the modes 00 and 02. A wrong SO-PIN gives an apdu.WrongPINError counting
// SO-PIN tries; apdu.ErrCommandNotAllowed means the device options forbid the command,
// apdu.ErrConditions that the SO-PIN was not verified first (modes 02, 03).
func (c *Client) ResetRetryCounter(ctx context.Context, mode ResetMode, soPIN, newPIN []byte) error {
	wantSO := mode == ResetWithSOPINNewPIN || mode == ResetWithSOPIN
	wantNew := mode == ResetWithSOPINNewPIN || mode == ResetNewPIN
	switch {
	case mode > ResetOnly:
		return fmt.Errorf("reset retry counter: mode %02X, want 00..03", byte(mode))
	case wantSO && len(soPIN) != SOPINLen:
		return fmt.Errorf("reset retry counter: mode %02X needs an SO-PIN of %d bytes, got %d", byte(mode), SOPINLen, len(soPIN))
	case !wantSO && len(soPIN) != 0:
		return fmt.Errorf("reset retry counter: mode %02X takes no SO-PIN", byte(mode))
	case wantNew && (len(newPIN) == 0 || len(soPIN)+len(newPIN) > apdu.MaxShortData):
		return fmt.Errorf("reset retry counter: mode %02X needs a new PIN, got %d bytes", byte(mode), len(newPIN))
	case !wantNew && len(newPIN) != 0:
		return fmt.Errorf("reset retry counter: mode %02X takes no new PIN", byte(mode))
	}
	data := append(append([]byte(nil), soPIN...), newPIN...)
	if _, err := c.Transmit(ctx, apdu.Command{CLA: 0x00, INS: InsResetRetryCounter, P1: byte(mode), P2: byte(UserPIN), Data: data}); err != nil {
		return fmt.Errorf("reset retry counter: %w", err)
	}
	return nil
}
