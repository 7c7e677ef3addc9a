/*
 * sm.h — secure messaging after chip authentication (ext. spec 5.7, BSI TR-03110 / ICAO 9303
 * with id-CA-ECDH-AES-CBC-CMAC-128): the session keys, the send sequence counter and the codec
 * of protected APDUs. Pure functions over a caller-owned hsm_sm; card.c owns the one channel.
 *
 * Keys: Z = x(ECDH(device key, terminal key)), r = 8 random bytes,
 *   K_enc = SHA-1(Z || r || 00000001)[0..15], K_mac = SHA-1(Z || r || 00000002)[0..15].
 * Token (GENERAL AUTHENTICATE answer 82) = CMAC(K_mac, 7F49 4F { 06 0A <oid> 86 41 <PK_term> })[0..7].
 * SSC: 16 bytes big-endian, 0 at establishment; incremented before the command MAC is checked
 * and again before the response is built, so an APDU replayed, reordered or dropped never
 * verifies.
 * Protected command (CLA 0C or 8C): data = [87 L 01 E(pad(data)) | 85 L E(pad(data))]
 *   [97 L Le] 8E 08 MAC, in that order, nothing else; MAC = CMAC(K_mac, SSC || pad(CLA INS P1 P2)
 *   || pad(87/85 || 97))[0..7] (the DO part is absent when there is no DO); a 16-byte 8E is
 *   accepted as the full CMAC (pypicokey). IV = AES(K_enc, SSC). pad = ISO 9797-1 method 2.
 * Protected response: [87 L 01 E(pad(data))] 99 02 SW1 SW2 8E 08 CMAC(K_mac, SSC || pad(87 || 99))
 *   [0..7]; the outer status word is 9000.
 * Any failure of hsm_sm_unwrap (no channel, malformed or truncated envelope, wrong MAC, bad
 * padding) closes the channel: keys, session PIN and its MKEK copy are wiped.
 */
#ifndef HSM_SM_H
#define HSM_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/apdu.h"

#define HSM_SM_DATA_MAX 2048u   /* largest plaintext command data inside a channel */
#define HSM_SM_SPIN_LEN 8u      /* session PIN length */

/* The id-CA-ECDH-AES-CBC-CMAC-128 OID, 0.4.0.127.0.7.2.2.3.2.2, content bytes. */
extern const uint8_t hsm_sm_oid_ca_ecdh_aes128[10];

typedef struct hsm_sm_s {
    bool open;              /* K_enc, K_mac and SSC are valid */
    uint8_t kenc[16];
    uint8_t kmac[16];
    uint8_t ssc[16];
    bool spin_set;          /* a session PIN exists in this channel (GET SESSION PIN) */
    uint8_t spin[HSM_SM_SPIN_LEN];
    uint8_t mkek[32];       /* the MKEK of the login that created the session PIN */
    bool spin_login;        /* the session's user verification came from the session PIN */
} hsm_sm;

/* Wipes everything; the channel is closed. */
void hsm_sm_close(hsm_sm *sm);
/* Wipes the session PIN and its MKEK copy; the channel stays open. */
void hsm_sm_forget_session_pin(hsm_sm *sm);
/* Opens a channel with these keys and SSC = 0 (any previous state is wiped first). */
void hsm_sm_start(hsm_sm *sm, const uint8_t kenc[16], const uint8_t kmac[16]);
/* TR-03110 KDF for AES-128 (see above). */
int hsm_sm_kdf(const uint8_t *z, size_t zlen, const uint8_t r[8], uint8_t kenc[16],
               uint8_t kmac[16]);
/* Authentication token over the terminal's uncompressed public key (65 bytes). */
int hsm_sm_token(const uint8_t kmac[16], const uint8_t pub[65], uint8_t token[8]);
/* AES-CMAC (SP 800-38B), full 16 bytes. */
int hsm_sm_cmac(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t mac[16]);

/* True for the CLA bytes of a protected APDU (0C, 8C). */
bool hsm_sm_is_protected(uint8_t cla);

/* Verifies and decrypts a protected APDU. `outer` is the parsed wire APDU; the plain command
 * data goes to plain (cap bytes, at least HSM_SM_DATA_MAX + 16) and `inner` describes the plain
 * command (CLA without the SM bits; data points into plain). Returns HSM_OK, or
 * HSM_ERR_REF_UNUSABLE (6984) after closing the channel. */
int hsm_sm_unwrap(hsm_sm *sm, const hsm_apdu *outer, uint8_t *plain, size_t cap,
                  hsm_apdu *inner);

/* Largest response data whose protected form fits in `room` bytes (0 if none does). */
size_t hsm_sm_room(size_t room);

/* Protects a response in place: buf holds n response data bytes (n <= hsm_sm_room(cap)) and
 * receives the protected response data (without the outer SW). Returns HSM_OK or
 * HSM_ERR_WRONG_LENGTH (closes the channel) when it does not fit. */
int hsm_sm_wrap(hsm_sm *sm, uint8_t *buf, size_t n, size_t cap, uint16_t sw, size_t *out_len);

#endif
