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
 * The device key (secp256r1) is created by the first INITIALIZE and sealed (secret.h) under the
 * MKEK as the device-lifetime object HSM_ID_DEVKEY; a re-initialisation, which is authorised by
 * the SO-PIN and so recovers the old MKEK, re-seals the same key under the new MKEK, so the
 * identity and any chain a CA issued for it survive. The chain (2F02 content) is the public
 * device-lifetime object HSM_ID_DEVCHAIN: after INITIALIZE the self-signed certificate above;
 * after enrolment (UPDATE BINARY of 2F02, hsm_devid_install) device cert || DV cert. Before the
 * first INITIALIZE no MKEK exists to seal a key under, so 2F02 holds a placeholder: the same
 * self-signed layout over a key generated at boot and discarded at once (it changes at every
 * boot and nothing can be attested by it). A power cut between the wipe of INITIALIZE and the
 * re-sealing leaves a key that does not load: the next INITIALIZE creates a new one.
 *
 * State: serial, CHR and a RAM copy of the chain, owned by devid.c, built by hsm_devid_init()
 * (idempotent) and kept current by hsm_devid_on_initialize() and hsm_devid_install(). The
 * private key is loaded from the store for each use and wiped after it; it never leaves devid.c.
 */
#ifndef HSM_DEVID_H
#define HSM_DEVID_H

#include <stddef.h>
#include <stdint.h>

#define HSM_DEVID_SERIAL_LEN 11u
#define HSM_DEVID_CHR_LEN 16u
#define HSM_DEVID_C_DEVAUT_MAX 1024u

struct hsm_session_s;

/* Builds the identity: serial, CHR, C_DevAut (stored chain, else the placeholder). Called by
 * hsm_card_init() after the store is mounted. Returns HSM_OK, HSM_ERR_ENTROPY (no placeholder
 * without entropy), or another error of cvc.h. */
int hsm_devid_init(void);
/* Drops the RAM copy (power off); hsm_devid_init() builds it again from the store. */
void hsm_devid_forget(void);

/* INITIALIZE, after the new device record is written: re-seals the device key under new_mkek
 * when old_mkek (the MKEK before, NULL on a first initialisation) opens it, else creates a new
 * key and a self-signed chain. */
int hsm_devid_on_initialize(const uint8_t *old_mkek, const uint8_t new_mkek[32]);

/* Replaces the chain (UPDATE BINARY of 2F02 at offset 0). data must be 1..HSM_DEVID_C_DEVAUT_MAX
 * bytes of complete 7F21 certificates, the first one holding the device's public key and CHR
 * (so OpenSC's serial stays the device's own). HSM_ERR_DATA when malformed, HSM_ERR_CONDITIONS
 * when the first certificate is not the device's, HSM_ERR_SECURITY without open keys. */
int hsm_devid_install(const struct hsm_session_s *s, const uint8_t *data, size_t len);

/* The NUL-terminated serial (HSM_DEVID_SERIAL_LEN characters); NULL before hsm_devid_init(). */
const char *hsm_devid_serial(void);

/* The NUL-terminated CHR (HSM_DEVID_CHR_LEN characters): the outer CAR of key generation
 * responses (core spec 2.11.2); NULL before hsm_devid_init(). */
const char *hsm_devid_chr(void);

/* The bytes of EF 2F02; valid for the program's life. HSM_ERR_NOT_FOUND before init. */
int hsm_devid_c_devaut(const uint8_t **data, size_t *len);

/* ECDSA-SHA-256 with the device key, plain r || s (64 bytes); for outer signatures. Needs the
 * session's keys (HSM_ERR_SECURITY). A device initialised before keys were persisted gets its
 * key (and a self-signed chain) here, on first use. */
int hsm_devid_sign(const struct hsm_session_s *s, const uint8_t *msg, size_t len, uint8_t *sig,
                   size_t cap, size_t *sig_len);

/* ECDH with the device key (secure messaging, ext. spec 5.7): z = x-coordinate of d * P for the
 * terminal's uncompressed P-256 point `peer` (65 bytes). HSM_ERR_DATA when the point is not on
 * the curve, HSM_ERR_SECURITY without the session's keys. Provisions the key like
 * hsm_devid_sign() on a device that has none yet. */
int hsm_devid_ecdh(const struct hsm_session_s *s, const uint8_t *peer, size_t peer_len,
                   uint8_t z[32]);

/* The serial of the chip with unique ID `uid` (the pure function behind hsm_devid_serial()). */
int hsm_devid_serial_from_uid(const uint8_t uid[8], char out[HSM_DEVID_SERIAL_LEN + 1]);

#endif
