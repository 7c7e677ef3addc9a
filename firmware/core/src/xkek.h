/*
 * xkek.h — XKEK key domains (extensions spec 4.2 P1 02, 4.3): devices of one "key domain
 * group" derive a common DKEK by ECDH, admitted by the group manager's signature.
 *
 * What persists: object 1070 + domain (ids.h) = the domain's UID, the group signing key's
 * public point without 04 (X || Y). It is public (the status answer shows it), stored in
 * clear, wiped by INITIALIZE. The derived DKEK is an ordinary DKEK record (dkek.h: sealed under
 * the MKEK, object 1090 + domain). The key-domain table (10A0) is not changed: an XKEK domain
 * is one whose table byte is FF (or 00, a domain without shares) and which has a UID.
 *
 * Membership (P1 02): data = GSK certificate 7F21 || 42 outer CAR || 5F37 outer signature ||
 * 54 signature. The 54 value is the ECDSA signature (r || s) by the GSK over
 * SHA-256(54 || X), X = x-coordinate of this device's key (first certificate of 2F02). The
 * GSK's curve comes from its own 7F49 or, through its CAR, from the trust store (cmd_pso.c).
 * The outer signature of the request is not checked (the reference does not either).
 *
 * Derivation (DECIPHER 84): data = CV certificate of a peer's XKEK key with the extension
 * 65 { 73 { 06 <1.3.6.1.4.1.24991.3.2.2>, 80 <UID> } }. The shared x-coordinate's first 32
 * bytes become the DKEK of the own key's domain, provided that domain's UID equals the
 * peer's. The peer certificate's signature is not verified (as in the reference): the
 * protection is the membership check.
 */
#ifndef HSM_XKEK_H
#define HSM_XKEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

#define HSM_XKEK_ALG 0x84u       /* DECIPHER algorithm / allowed-list byte of XKEK keys */
#define HSM_XKEK_UID_MAX 132u    /* X || Y on P-521 */
#define HSM_XKEK_EXT_MAX 160u    /* the 65 extension with the largest UID */

/* Whether domain has a UID; *len its length when uid != NULL (cap >= HSM_XKEK_UID_MAX). */
bool hsm_xkek_uid(uint8_t domain, uint8_t *uid, size_t *len);

/* P1 02: checks the membership and stores the UID. Errors: HSM_ERR_WRONG_LENGTH no 54;
 * HSM_ERR_EXEC own certificate unusable; HSM_ERR_REF_UNUSABLE GSK certificate malformed;
 * HSM_ERR_UNSUPPORTED GSK not EC; HSM_ERR_CONDITIONS curve not found or bad signature;
 * HSM_ERR_P1P2 domain holds shares or another group's UID; the table's errors. */
int hsm_xkek_create(const hsm_session *s, uint8_t domain, const uint8_t *data, size_t len);

/* The status answer (dkek.h) with the UID appended when there is one; an XKEK domain whose
 * table byte is FF answers FF, 00, KCV. */
int hsm_xkek_status(const hsm_session *s, uint8_t domain, uint8_t *out, size_t cap,
                    size_t *len);

/* P1 03 and P1 04 for every domain, XKEK or not: delete (DKEK, table byte, UID; HSM_ERR_EXISTS
 * while a key references it) and clear (the DKEK only). */
int hsm_xkek_delete_domain(const hsm_session *s, uint8_t domain);
int hsm_xkek_clear(const hsm_session *s, uint8_t domain);

/* Key generation: when algs names 84, the key needs tag 92 with a domain that has a UID
 * (HSM_ERR_WRONG_LENGTH otherwise) and its certificate gets the 65 extension, written to ext
 * (*ext_len 0 for other keys). */
int hsm_xkek_key_extension(const uint8_t *algs, size_t nalgs, bool has_domain, uint8_t domain,
                           uint8_t *ext, size_t cap, size_t *ext_len);

/* DECIPHER with algorithm 84. */
int hsm_cmd_xkek_derive(hsm_cmd *c);

#endif
