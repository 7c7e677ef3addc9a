/*
 * devid.h — the device's identity: its serial number, its authentication key, and the content
 * of EF.C_DevAut (2F02), which OpenSC reads to bind its PKCS#15 layer (core spec 3.6, 5.2).
 *
 * Serial and CHR (fixed format, 11 + 5 = 16 characters, the TR-03110 holder reference layout
 * "country | mnemonic | sequence"):
 *   serial = "ZZ" "P" T        CHR = serial "00001"
 *   "ZZ"  country-style code; ZZ is ISO 3166-1 user-assigned, so it claims no country and
 *         cannot be confused with a CardContact or upstream Pico HSM serial (DE…, ES…);
 *   "P"   fixed mnemonic (Pico HSM);
 *   T     8 characters, RFC 4648 base32 (A-Z 2-7) of the first 40 bits of
 *         SHA-256("pico-hsm/devid/serial/v1" || unique ID), unique ID = the 8-byte chip ID of
 *         hsm_port_unique_id(). Hashed rather than copied because flash unique IDs share
 *         vendor/lot bytes, and 64 bits do not fit in 8 characters anyway.
 *   40 bits: the chance that two devices among N share a serial is about N^2 / 2^41 — 5e-5
 *   for a fleet of 10 000, 0.5 % for 100 000. OpenSC takes serial = CHR minus its last 5
 *   characters, so the PKCS#11 token serial is the 11-character serial above.
 * The serial depends only on the chip: it is the same at every boot and on every firmware.
 *
 * C_DevAut content (invariant: the first TLV is a complete 7F21 certificate of at most
 * HSM_DEVID_C_DEVAUT_MAX bytes, OpenSC's read size): today a single self-signed certificate,
 * CAR = CHR, key on secp256r1, id-TA-ECDSA-SHA-256, CHAT "terminal". Fixed dates, because the
 * device has no clock at boot: effective 2026-01-01 (before any device runs this code, so a
 * verifier with a real clock never sees a not-yet-valid certificate) and expiry 2099-12-31
 * (the last date YYMMDD can express: without a clock the device cannot renew the certificate,
 * so it must outlive the device).
 *
 * CURRENT LIMITATION: the device key is generated in RAM at every boot (ephemeral), so the
 * public key and the certificate change at every boot while the serial does not. A later
 * change persists the key (key CC00) and stores the certificate issued by the user's own CA;
 * only devkey_obtain() and c_devaut_obtain() in devid.c change then.
 *
 * State: owned by devid.c, built once by hsm_devid_init() (idempotent; on failure nothing is
 * kept and a later call tries again). The private key never leaves devid.c: it is used only
 * through hsm_devid_sign().
 */
#ifndef HSM_DEVID_H
#define HSM_DEVID_H

#include <stddef.h>
#include <stdint.h>

#define HSM_DEVID_SERIAL_LEN 11u
#define HSM_DEVID_CHR_LEN 16u
#define HSM_DEVID_C_DEVAUT_MAX 1024u

/* Builds the identity: serial, device key, C_DevAut. Called by hsm_card_init(). Returns
 * HSM_OK, HSM_ERR_ENTROPY (no key without entropy), or another error of cvc.h. */
int hsm_devid_init(void);

/* The NUL-terminated serial (HSM_DEVID_SERIAL_LEN characters); NULL before hsm_devid_init(). */
const char *hsm_devid_serial(void);

/* The NUL-terminated CHR (HSM_DEVID_CHR_LEN characters): the outer CAR of key generation
 * responses (core spec 2.11.2); NULL before hsm_devid_init(). */
const char *hsm_devid_chr(void);

/* The bytes of EF 2F02; valid for the program's life. HSM_ERR_NOT_FOUND before init. */
int hsm_devid_c_devaut(const uint8_t **data, size_t *len);

/* ECDSA-SHA-256 with the device key, plain r || s (64 bytes); for outer signatures. */
int hsm_devid_sign(const uint8_t *msg, size_t len, uint8_t *sig, size_t cap, size_t *sig_len);

/* The serial of the chip with unique ID `uid` (the pure function behind hsm_devid_serial()). */
int hsm_devid_serial_from_uid(const uint8_t uid[8], char out[HSM_DEVID_SERIAL_LEN + 1]);

#endif
