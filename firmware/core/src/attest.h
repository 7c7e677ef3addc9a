/*
 * attest.h — the authenticated request of a key (ext. spec 5.4, core spec 2.11.2):
 *   67 { 7F21 { 7F4E { 5F29 00, 42 CAR, 7F49 public key, 5F20 CHR }, 5F37 by the key itself },
 *        42 device CHR, 5F37 device signature over the 7F21 and 42 TLVs }
 * CAR and CHR default to the device CHR. X25519/X448 keys cannot sign: their inner signature
 * is zero bytes (keys.c). The key generation answer, and what the device keeps in CE<id> for
 * generated and unwrapped keys.
 */
#ifndef HSM_ATTEST_H
#define HSM_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "hsm/tlv.h"

/* Appends the request of key id to w, with `oid` (DER body bytes) in its 7F49; car/chr may be
 * NULL. HSM_ERR_NO_SPACE when w overflows (w's overflow flag tells it from other causes). */
int hsm_attest_request(const hsm_session *s, uint8_t id, const uint8_t *oid, size_t oid_len,
                       const hsm_tlv *car, const hsm_tlv *chr, hsm_tlv_writer *w);

/* The same with ext (a complete 65 TLV, or NULL) at the end of the inner body: the XKEK key's
 * "key domain UID" extension (ext. spec 4.3 step 3). */
int hsm_attest_request_ext(const hsm_session *s, uint8_t id, const uint8_t *oid, size_t oid_len,
                           const hsm_tlv *car, const hsm_tlv *chr, const uint8_t *ext,
                           size_t ext_len, hsm_tlv_writer *w);

#endif
