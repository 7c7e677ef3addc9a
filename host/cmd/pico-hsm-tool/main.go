// Command pico-hsm-tool builds and checks Pico HSM firmware images and talks to a Pico HSM
// through a PC/SC reader.
//
//	pico-hsm-tool uf2 --family rp2040|rp2350 -o OUT.uf2 IN.elf
//	pico-hsm-tool uf2-info FILE.uf2
//	pico-hsm-tool info [--reader NAME]
//	pico-hsm-tool random [--reader NAME] N
//	pico-hsm-tool init --so-pin HEX16 --pin PIN [--retries N] [--transport-pin] [--dkek-shares N]
//	pico-hsm-tool pin status|verify|change|unblock ...
//	pico-hsm-tool files list|read FID|write FID FILE|delete FID ...
//	pico-hsm-tool keys list|generate|delete ...
//	pico-hsm-tool keys wrap|unwrap|import ...
//	pico-hsm-tool dkek create-share|import|status ...
//	pico-hsm-tool sign|decrypt --id N --alg ALG -i IN [-o OUT]
//	pico-hsm-tool derive --id N --peer FILE [-o OUT]
//	pico-hsm-tool hd master|derive|sign ...
//	pico-hsm-tool clock get|set, options get|set, rescue info|memory|reboot
//	pico-hsm-tool otp status|provision ...
//	pico-hsm-tool aes keygen|encrypt|decrypt ...
//	pico-hsm-tool mac|kdf|derive-ec ...
//	pico-hsm-tool ca init|issue|install|enrol ...
//	pico-hsm-tool attest --id N --root FILE
//	pico-hsm-tool xkek gsk-new|kdm|join|keygen|derive|status|clear ...
//
// On failure it writes exactly one line, "pico-hsm-tool: <what failed>: <why>", to stderr
// and exits with status 2 for a usage error, 1 otherwise. A PIN given as "-" is read from
// standard input (one line per "-", in the order --so-pin, --pin, --new-pin); only when
// standard input is a terminal is a prompt written to stderr, with the echo turned off.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage: pico-hsm-tool <command> [arguments]

commands:
  uf2 --family rp2040|rp2350 -o OUT.uf2 IN.elf   convert a firmware ELF file to UF2
  uf2-info FILE.uf2                             check a UF2 file and describe it
  info [--reader NAME]                          show the applet of the card in a reader
  random [--reader NAME] N                      print N random bytes from the card, in hex

  init --so-pin HEX16 --pin PIN [--retries N] [--transport-pin] [--dkek-shares N]
                                                initialise the device (wipes it; a device
                                                initialised before needs its SO-PIN)
  pin status                                    show the user PIN and SO-PIN states
  pin verify [--so] --pin PIN                   check the user PIN (or the SO-PIN)
  pin change [--so] --pin OLD --new-pin NEW     change the user PIN (or the SO-PIN)
  pin unblock --so-pin HEX16 [--new-pin PIN]    unblock the user PIN, optionally setting it
  files list                                    list the keys and files
  files read [--pin PIN] [-o OUT] FID           print a file (FID: 4 hex digits, e.g. CF01)
  files write --pin PIN FID FILE                create or replace a file with FILE's content
  files delete --pin PIN FID                    delete a file

  keys list                                     list the keys, with their type when known
  keys generate --pin PIN --id N --type TYPE [--counter N] [--algorithms LIST] [--domain N]
                                                generate a key pair (TYPE: rsa:BITS,
                                                ec:CURVE, x25519, x448), store the answer in
                                                CE<N> (unless --no-store) and print the
                                                public key
  keys delete --pin PIN --id N                  delete a key (and its CE and C4 files)
  keys wrap --pin PIN --id N -o FILE           export a key encrypted under the DKEK, in
                                                sc-hsm-tool's wrapped-key format (key blob,
                                                C4 description, CE certificate)
  keys unwrap --pin PIN --id N [--force] FILE   import a wrapped-key file as key N
  keys import --pin PIN --id N --pkcs12 FILE [--pkcs12-password PW] --share FILE [--share FILE]
              --dkek-share-password PW [--label L] [--force]
                                                import an RSA or EC key and its certificate
                                                from PKCS#12 (legacy 3DES encryption); the
                                                DKEK is rebuilt from the share files
  dkek create-share (--password PW | --threshold T --total N) FILE
                                                create a DKEK share file (sc-hsm-tool format);
                                                with T and N a random password is split into
                                                N shares, T of which rebuild it
  dkek import (--password PW | --pwd-shares T) [--domain N] FILE
                                                import a share; --pwd-shares reads the prime,
                                                then ID and value of T shares, one a line
  dkek status [--domain N]                      show the DKEK shares and key check value

  sign --pin PIN --id N --alg ALG -i IN [-o OUT]
                                                sign: IN is what the card takes (message for
                                                ecdsa-sha256 etc., hash for ecdsa/rsa-pss,
                                                DigestInfo for rsa-pkcs1, padded block for
                                                rsa-raw)
  decrypt --pin PIN --id N --alg ALG -i IN [-o OUT]
                                                RSA decryption (rsa-decrypt-raw,
                                                rsa-decrypt-pkcs1, rsa-decrypt-oaep)
  derive --pin PIN --id N --peer FILE [-o OUT]  ECDH with a peer key (PEM or DER
                                                SubjectPublicKeyInfo, or the raw point)

  hd master --pin PIN --id N --type secp256k1|p256|slip21 [--seed HEX]
                                                create HD master N (0..9) from the seed, or
                                                from 64 random bytes drawn by the device
  hd derive --pin PIN --id N [--path PATH | --label L ...]
                                                print the xpub of a BIP32/SLIP-10 node (PATH
                                                like m/44h/0h/0h/0/1), or the SLIP-21 hashes
  hd sign --pin PIN --id N --path PATH -i DIGEST [-o OUT]
                                                ECDSA with a derived node over DIGEST (e.g. a
                                                SHA-256 hash); DER output
  clock get|set --pin PIN [--time RFC3339|now]  read or set the device clock (UTC)
  options get|set --pin PIN [button|counter on|off]
                                                show or change the press-to-confirm (button)
                                                and usage-counter-for-all-keys options
  rescue info|memory|reboot [--bootloader]      the rescue applet: platform, product,
                                                version, chip id; memory report; reboot
  otp status                                    the chip's OTP root and which PIN keys are
                                                bound to it
  otp provision --so-pin HEX16 [--yes]          write the OTP root (RP2350; irreversible,
                                                asks first unless --yes): the PIN keys are
                                                then bound to this chip
  aes keygen --pin PIN --id N [--bits 128|192|256|512] [--counter N] [--algorithms LIST]
             [--domain N]                       generate an AES key (512: AES-256-XTS)
  aes encrypt|decrypt --pin PIN --id N --mode MODE [--bits B] [--iv HEX] [--aad HEX]
             [--tag-len N] -i IN [-o OUT]       MODE: ecb (one block), cbc (no padding),
                                                cfb, ofb, ctr, gcm, ccm (ciphertext||tag),
                                                xts, chacha20-poly1305 (32-byte key)
  mac --pin PIN --id N --alg cmac|hmac-sha1..hmac-sha512 -i IN [-o OUT]
                                                AES-CMAC or HMAC with a card secret
  kdf --pin PIN --id N --alg ALG [--len N] [--salt HEX] [--info HEX] [--iter N] [-o OUT]
                                                ALG: hkdf-sha256|384|512, pbkdf2-sha1..512
                                                (password = the secret), x963-sha1..512,
                                                aes-derive (HKDF-SHA-256, length of --info)
  derive-ec --pin PIN --id N --to M --scalar HEX
                                                store key M = key N's scalar + HEX (mod p)
  ca init --dir DIR [--name PREFIX] [--years N] --passphrase PW
                                                create an offline CA: root PREFIXCA00001 and
                                                DV PREFIXDV00001 (P-256), keys encrypted
                                                (scrypt + AES-256-GCM)
  ca enrol --dir DIR --pin PIN --passphrase PW  issue the device certificate from the
                                                device's request (2F02) and install device
                                                cert || DV cert in 2F02
  ca issue --dir DIR --passphrase PW -o CHAIN REQUEST
                                                the same offline: REQUEST is a device's 2F02
                                                (files read 2F02 -o REQUEST)
  ca install --dir DIR --pin PIN CHAIN          write an issued chain into 2F02
  attest --id N --root root.cvc                 verify that key N is held by this device
                                                (CE<N> signed by the device key) and that
                                                the device chains to the root
  xkek gsk-new --dir DIR --passphrase PW        create the XKEK group key PREFIXGS00001 in
                                                the CA directory (issued by its DV)
  xkek kdm --dir DIR --passphrase PW --device-cert FILE -o KDM
                                                membership for the device whose 2F02 chain
                                                is FILE (it must be enrolled under the CA)
  xkek join --pin PIN [--domain N] KDM          make domain N an XKEK domain of the group
  xkek keygen --pin PIN --id N [--domain D] [--curve C] -o CERT
                                                generate the XKEK key; CERT goes to the
                                                other members
  xkek derive --pin PIN --id N [--domain D] --peer CERT
                                                derive the domain's DKEK with a member's key
  xkek status [--domain N]                      group UID and DKEK key check value
  xkek clear --pin PIN [--domain N] [--delete]  forget the derived DKEK (--delete: the
                                                domain and group UID too)
  lock new-secret -o FILE                       32 random bytes, mode 0600: the host secret
  lock enable --secret-file FILE --pin PIN --so-pin HEX16
                                                lock the keys to the holder of FILE
  lock unlock --secret-file FILE [--pin PIN]    open the keys for this session
  lock disable --secret-file FILE --pin PIN --so-pin HEX16
                                                remove the lock

Key numbers N are 1..255 (decimal, or hex with 0x). Algorithms (ALG, LIST) are names or
their bytes in hex: rsa-raw 20, rsa-pkcs1 30, rsa-pkcs1-sha1..sha512 31-35, rsa-pss 40,
rsa-pss-sha1..sha512 41-45, ecdsa 70, ecdsa-sha1..sha512 71-75, rsa-decrypt-raw 21,
rsa-decrypt-pkcs1 22, rsa-decrypt-oaep 23 (SHA-256), ecdh 80. Curves: secp192r1,
secp256r1, secp384r1, secp521r1, brainpoolP256r1, brainpoolP384r1, brainpoolP512r1,
secp192k1, secp256k1. Results of sign, decrypt and derive are binary.

--secure (before the command) runs every APDU after the user PIN inside a secure-messaging
channel (chip authentication with the device key of 2F02, AES-128 CBC + CMAC).
--reader NAME (every card command) selects the first reader whose name contains NAME;
without it, the first reader holding a card is used. The SO-PIN is 16 hex digits, a user
PIN 6 to 16 characters. A PIN given as "-" is read from standard input, one line each, in
the order --so-pin, --pin, --new-pin.
`

// command is one subcommand: its usage line and its body. args excludes the command name.
type command struct {
	synopsis string
	run      func(args []string, stdout io.Writer) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"uf2":      {"uf2 --family rp2040|rp2350 -o OUT.uf2 IN.elf", cmdUF2},
		"uf2-info": {"uf2-info FILE.uf2", cmdUF2Info},
		"info":     {"info [--reader NAME]", cmdInfo},
		"random":   {"random [--reader NAME] N", cmdRandom},
		"init": {"init [--reader NAME] --so-pin HEX16 --pin PIN [--retries N] [--transport-pin] [--dkek-shares N]",
			cmdInit},
		"pin status":   {"pin status [--reader NAME]", cmdPINStatus},
		"pin verify":   {"pin verify [--reader NAME] [--so] --pin PIN", cmdPINVerify},
		"pin change":   {"pin change [--reader NAME] [--so] --pin OLD --new-pin NEW", cmdPINChange},
		"pin unblock":  {"pin unblock [--reader NAME] --so-pin HEX16 [--new-pin PIN]", cmdPINUnblock},
		"files list":   {"files list [--reader NAME]", cmdFilesList},
		"files read":   {"files read [--reader NAME] [--pin PIN] [-o OUT] FID", cmdFilesRead},
		"files write":  {"files write [--reader NAME] [--pin PIN] FID FILE", cmdFilesWrite},
		"files delete": {"files delete [--reader NAME] [--pin PIN] FID", cmdFilesDelete},
		"keys list":    {"keys list [--reader NAME]", cmdKeysList},
		"keys generate": {"keys generate [--reader NAME] [--pin PIN] --id N --type rsa:BITS|ec:CURVE|x25519|x448 " +
			"[--counter N] [--algorithms LIST] [--domain N] [--no-store]", cmdKeysGenerate},
		"keys delete": {"keys delete [--reader NAME] [--pin PIN] --id N", cmdKeysDelete},
		"keys wrap":   {"keys wrap [--reader NAME] [--pin PIN] --id N -o FILE", cmdKeysWrap},
		"keys unwrap": {"keys unwrap [--reader NAME] [--pin PIN] --id N [--force] FILE", cmdKeysUnwrap},
		"keys import": {"keys import [--reader NAME] [--pin PIN] --id N --pkcs12 FILE [--pkcs12-password PW] " +
			"--share FILE [--share FILE ...] --dkek-share-password PW [--label L] [--force]", cmdKeysImport},
		"dkek create-share": {"dkek create-share [--reader NAME] (--password PW | --threshold T --total N) FILE",
			cmdDKEKCreateShare},
		"dkek import": {"dkek import [--reader NAME] [--domain N] (--password PW | --pwd-shares T) FILE", cmdDKEKImport},
		"dkek status": {"dkek status [--reader NAME] [--domain N]", cmdDKEKStatus},
		"sign":        {"sign [--reader NAME] [--pin PIN] --id N --alg ALG -i IN [-o OUT]", cmdSign},
		"decrypt":     {"decrypt [--reader NAME] [--pin PIN] --id N --alg ALG -i IN [-o OUT]", cmdDecrypt},
		"derive":      {"derive [--reader NAME] [--pin PIN] --id N --peer FILE [-o OUT]", cmdDerive},
		"hd master": {"hd master [--reader NAME] [--pin PIN] --id N --type secp256k1|p256|slip21 [--seed HEX]",
			cmdHDMaster},
		"hd derive":     {"hd derive [--reader NAME] [--pin PIN] --id N [--path PATH | --label L ...]", cmdHDDerive},
		"hd sign":       {"hd sign [--reader NAME] [--pin PIN] --id N --path PATH -i DIGEST [-o OUT]", cmdHDSign},
		"clock get":     {"clock get [--reader NAME] [--pin PIN]", cmdClockGet},
		"clock set":     {"clock set [--reader NAME] [--pin PIN] [--time RFC3339|now]", cmdClockSet},
		"options get":   {"options get [--reader NAME] [--pin PIN]", cmdOptionsGet},
		"options set":   {"options set [--reader NAME] [--pin PIN] button|counter on|off", cmdOptionsSet},
		"rescue info":   {"rescue info [--reader NAME]", cmdRescueInfo},
		"rescue memory": {"rescue memory [--reader NAME]", cmdRescueMemory},
		"rescue reboot": {"rescue reboot [--reader NAME] [--bootloader]", cmdRescueReboot},
		"otp status":    {"otp status [--reader NAME]", cmdOTPStatus},
		"otp provision": {"otp provision [--reader NAME] --so-pin HEX16 [--yes]", cmdOTPProvision},
		"aes keygen": {"aes keygen [--reader NAME] [--pin PIN] --id N [--bits 128|192|256|512] [--counter N] " +
			"[--algorithms LIST] [--domain N]", cmdAESKeygen},
		"aes encrypt": {"aes encrypt [--reader NAME] [--pin PIN] --id N --mode MODE [--bits B] [--iv HEX] [--aad HEX] " +
			"[--tag-len N] -i IN [-o OUT]", cmdAESEncrypt},
		"aes decrypt": {"aes decrypt [--reader NAME] [--pin PIN] --id N --mode MODE [--bits B] [--iv HEX] [--aad HEX] " +
			"[--tag-len N] -i IN [-o OUT]", cmdAESDecrypt},
		"mac": {"mac [--reader NAME] [--pin PIN] --id N --alg cmac|hmac-sha1..hmac-sha512 -i IN [-o OUT]", cmdMAC},
		"kdf": {"kdf [--reader NAME] [--pin PIN] --id N --alg ALG [--len N] [--salt HEX] [--info HEX] [--iter N] [-o OUT]",
			cmdKDF},
		"derive-ec":    {"derive-ec [--reader NAME] [--pin PIN] --id N --to M --scalar HEX", cmdDeriveEC},
		"ca init":      {"ca init --dir DIR [--name PREFIX] [--years N] --passphrase PW", cmdCAInit},
		"ca issue":     {"ca issue --dir DIR --passphrase PW -o CHAIN REQUEST", cmdCAIssue},
		"ca install":   {"ca install [--reader NAME] --dir DIR --pin PIN CHAIN", cmdCAInstall},
		"ca enrol":     {"ca enrol [--reader NAME] --dir DIR --pin PIN --passphrase PW", cmdCAEnrol},
		"attest":       {"attest [--reader NAME] --id N --root FILE", cmdAttest},
		"xkek gsk-new": {"xkek gsk-new --dir DIR --passphrase PW", cmdXKEKGSKNew},
		"xkek kdm":     {"xkek kdm --dir DIR --passphrase PW --device-cert FILE -o KDM", cmdXKEKKDM},
		"xkek join":    {"xkek join [--reader NAME] --pin PIN [--domain N] KDM", cmdXKEKJoin},
		"xkek keygen": {"xkek keygen [--reader NAME] --pin PIN --id N [--domain D] [--curve C] -o CERT",
			cmdXKEKKeygen},
		"xkek derive":     {"xkek derive [--reader NAME] --pin PIN --id N [--domain D] --peer CERT", cmdXKEKDerive},
		"xkek status":     {"xkek status [--reader NAME] [--domain N]", cmdXKEKStatus},
		"xkek clear":      {"xkek clear [--reader NAME] --pin PIN [--domain N] [--delete]", cmdXKEKClear},
		"lock new-secret": {"lock new-secret -o FILE", cmdLockNewSecret},
		"lock enable":     {"lock enable [--reader NAME] --secret-file FILE --pin PIN --so-pin HEX16", cmdLock("enable")},
		"lock unlock":     {"lock unlock [--reader NAME] --secret-file FILE [--pin PIN]", cmdLock("unlock")},
		"lock disable":    {"lock disable [--reader NAME] --secret-file FILE --pin PIN --so-pin HEX16", cmdLock("disable")},
	}
}

// groups are the commands named by two words; the value lists the second words.
var groups = map[string]string{
	"pin":     "status, verify, change or unblock",
	"files":   "list, read, write or delete",
	"keys":    "list, generate, delete, wrap, unwrap or import",
	"dkek":    "create-share, import or status",
	"hd":      "master, derive or sign",
	"clock":   "get or set",
	"options": "get or set",
	"rescue":  "info, memory or reboot",
	"otp":     "status or provision",
	"aes":     "keygen, encrypt or decrypt",
	"ca":      "init, issue, install or enrol",
	"xkek":    "gsk-new, kdm, join, keygen, derive, status or clear",
	"lock":    "new-secret, enable, unlock or disable",
}

// usageError marks a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// errHelp asks run to print a usage text on stdout and succeed.
var errHelp = errors.New("help requested")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stderr, usagef("no command given (see pico-hsm-tool help)"))
	}
	secureMessaging = false
	if args[0] == "--secure" {
		secureMessaging = true
		args = args[1:]
		if len(args) == 0 {
			return fail(stderr, usagef("no command given (see pico-hsm-tool help)"))
		}
	}
	name := args[0]
	if isHelp(name) || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	rest := args[1:]
	if sub, ok := groups[name]; ok {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			if len(rest) > 0 && isHelp(rest[0]) {
				fmt.Fprint(stdout, usage)
				return 0
			}
			return fail(stderr, usagef("%s: want %s (see pico-hsm-tool help)", name, sub))
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		return fail(stderr, usagef("unknown command %q (see pico-hsm-tool help)", name))
	}
	err := cmd.run(rest, stdout)
	if errors.Is(err, errHelp) {
		fmt.Fprintf(stdout, "usage: pico-hsm-tool %s\n", cmd.synopsis)
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w (usage: pico-hsm-tool %s)", name, err, cmd.synopsis)
	} else if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return fail(stderr, err)
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// fail writes err as the one diagnostic line and returns the exit status for it.
func fail(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // keep it on one line
	fmt.Fprintf(stderr, "pico-hsm-tool: %s\n", msg)
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
}

// parseArgs parses flags that may come before, between or after the positional
// arguments, and returns the positional ones. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
