/*
 * pka.h — public key authentication (PKA, ext. spec 5.6; core spec 2.17): m of n registered
 * key holders must answer a challenge before keys can be used.
 *
 * Persistent state (wiped by INITIALIZE like every initialised-state object, ids.h):
 *   HSM_ID_PKA_STATE       2 bytes: n (1..HSM_PKA_MAX) | m (1..n); absent = PKA not configured
 *   HSM_ID_PKA_SLOT_FIRST+i the registered "public key" of slot i: the content of a 67
 *                          authenticated request (7F21 request | 42 outer CAR | 5F37 outer
 *                          signature), stored verbatim; absent = slot empty
 * Volatile state (hsm_session, cleared by SELECT and reset): the selected slot, one
 * authenticated flag per slot, the threshold flag pka_ok and the last GET CHALLENGE.
 *
 * State machine (per session):
 *   GET CHALLENGE        keeps the challenge, clears every slot flag (pka_ok stays once reached)
 *   MSE SET AT 83 <CHR>  selects the registered slot whose request CHR is <CHR>:
 *                        flagged -> 6985, unknown -> 6A88
 *   EXTERNAL AUTHENTICATE checks a signature over SHA-256(device CHR | challenge) with the
 *                        selected slot's key (ECDSA r || s under id-TA-ECDSA-SHA-256 on the
 *                        curve of the request's own domain parameters; RSA PKCS#1 v1.5 or PSS
 *                        with SHA-256); right -> the slot's flag; when m flags are set pka_ok
 *                        becomes true and the challenge is consumed; wrong -> 6985, no change.
 * Key use (rows with HSM_CMD_USER) needs the user PIN session AND hsm_pka_satisfied().
 */
#ifndef HSM_PKA_H
#define HSM_PKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

#define HSM_PKA_MAX 8u
#define HSM_PKA_KEY_MAX 2048u /* bytes of one registered request */

/* n and m of the configuration; HSM_ERR_NOT_FOUND when PKA is not configured. */
int hsm_pka_config(uint8_t *n, uint8_t *m);
/* INITIALIZE, after the wipe: configures n of which m are required (n = 0: nothing). */
int hsm_pka_on_initialize(uint8_t n, uint8_t m);
/* True when PKA is not configured or the threshold was reached in this session. */
bool hsm_pka_satisfied(const hsm_session *s);
/* Number of registered slots. */
unsigned hsm_pka_registered(uint8_t n);
/* GET CHALLENGE: keep (at most 256 bytes of) the challenge, clear the slot flags. */
void hsm_pka_on_challenge(hsm_session *s, const uint8_t *ch, size_t len);
/* MSE SET AT with 83 <chr>. */
int hsm_pka_select(hsm_session *s, const uint8_t *chr, size_t len);
/* EXTERNAL AUTHENTICATE with signature sig. */
int hsm_pka_authenticate(hsm_session *s, const uint8_t *sig, size_t len);
/* Reads slot's registered request into buf (cap); HSM_ERR_REF_NOT_FOUND when empty. */
int hsm_pka_slot_read(uint8_t slot, uint8_t *buf, size_t cap, size_t *len);
/* The CHR of slot's registered request (at most 16 bytes); HSM_ERR_REF_NOT_FOUND when empty. */
int hsm_pka_slot_chr(uint8_t slot, uint8_t chr[16], size_t *len);

#endif
