package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lock new-secret / enable / unlock / disable against an emulator: each tool run is a session
// of its own, so a locked device refuses `sign` from the next run whatever the PIN.
func TestLockCommands(t *testing.T) {
	use := twoEmulators(t)
	use(0)
	dir := t.TempDir()
	secret, other := filepath.Join(dir, "lock.key"), filepath.Join(dir, "other.key")
	mustRun(t, "init", "--so-pin", so, "--pin", pin)
	mustRun(t, "keys", "generate", "--pin", pin, "--id", "1", "--type", "ec:secp256r1")
	msg := filepath.Join(dir, "msg")
	if err := os.WriteFile(msg, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func() int {
		code, _ := runTool(t, "sign", "--pin", pin, "--id", "1", "--alg", "ecdsa-sha256", "-i", msg, "-o", filepath.Join(dir, "sig"))
		return code
	}

	mustRun(t, "lock", "new-secret", "-o", secret)
	mustRun(t, "lock", "new-secret", "-o", other)
	if st, err := os.Stat(secret); err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("secret file: %v %v", st, err)
	}
	if code, _ := runTool(t, "lock", "new-secret", "-o", secret); code != 1 {
		t.Errorf("new-secret over an existing file: exit %d, want 1", code)
	}
	if code, _ := runTool(t, "lock", "enable", "--secret-file", secret, "--pin", pin); code != 2 {
		t.Errorf("enable without --so-pin: exit %d, want 2", code)
	}
	if err := os.Chmod(other, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, e := runToolErr(t, "lock", "enable", "--secret-file", other, "--pin", pin, "--so-pin", so); code != 1 || !strings.Contains(e, "chmod 600") {
		t.Errorf("enable with a world-readable secret: exit %d, %q", code, e)
	}
	if err := os.Chmod(other, 0o600); err != nil {
		t.Fatal(err)
	}

	if out := mustRun(t, "lock", "enable", "--secret-file", secret, "--pin", pin, "--so-pin", so); out != "secure lock enable: device locked\n" {
		t.Errorf("enable: %q", out)
	}
	if code := sign(); code != 1 {
		t.Errorf("sign on a locked device: exit %d, want 1", code)
	}
	if out := mustRun(t, "lock", "unlock", "--secret-file", secret); out != "secure lock unlock: device locked\n" {
		t.Errorf("unlock: %q", out)
	}
	if code, _, e := runToolErr(t, "lock", "unlock", "--secret-file", other); code != 1 || !strings.Contains(e, "6982") {
		t.Errorf("unlock with another secret: exit %d, %q", code, e)
	}
	if code, _ := runTool(t, "lock", "disable", "--secret-file", other, "--pin", pin, "--so-pin", so); code != 1 {
		t.Errorf("disable with another secret: exit %d, want 1", code)
	}
	if code := sign(); code != 1 {
		t.Errorf("sign after a refused disable: exit %d, want 1", code)
	}
	if out := mustRun(t, "lock", "disable", "--secret-file", secret, "--pin", pin, "--so-pin", so); out != "secure lock disable: device unlocked\n" {
		t.Errorf("disable: %q", out)
	}
	if code := sign(); code != 0 {
		t.Errorf("sign after disable: exit %d, want 0", code)
	}
}
