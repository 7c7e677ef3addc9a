/*
 * lock.h — secure lock: the device's keys usable only with a 32-byte secret S that one host
 * keeps (ext. spec 3.8, 6.8; the "Decision" there: the lock is defined at the key level).
 *
 * Let M be the MKEK (the object key is HKDF(M), session.c) and W the value both PIN wraps of
 * the device record hold. Unlocked, W = M. Locked (option bit 0400), W = M xor S: a PIN alone
 * yields W, which opens nothing; the session needs S (3A 03) to compute M = W xor S. The wraps
 * stay AES-256-GCM records; no authenticated ciphertext is ever XORed.
 *   enable  (3A 02)  re-wraps M xor S under both PINs (their KEKs, kept by this session's
 *                    VERIFYs: user AND SO-PIN verified, else 6982), stores the check value
 *                    C = SHA-256("pico-hsm/lock/v1" | unique ID | S) as HSM_ID_LOCK_CHECK,
 *                    sets 0400 — one device-record write after the check value;
 *                    already locked: no effect
 *   unlock  (3A 03)  S must match C (constant-time; a wrong S: 6982, nothing changes); keeps S
 *                    as the session mask (cleared by SELECT) and opens the keys if a PIN was
 *                    verified; unlocked device: no effect
 *   disable (3A 04)  S must match C; needs both KEKs like enable; re-wraps M, clears 0400,
 *                    deletes C; unlocked device: no effect
 * INITIALIZE is refused (6982) while locked unless the session holds the mask.
 *
 * S travels in a one-shot envelope: 3A 01 with the host's ephemeral P-256 point P_H answers
 * the device's ephemeral point; Z = ECDH x-coordinate, K = HKDF-SHA256(no salt, Z, info = P_H,
 * 44 bytes), nonce = K[0..12), key = K[12..44); the envelope is ChaCha20-Poly1305(key, nonce,
 * AAD = P_H, S) = 32 + 16 bytes. K is kept in RAM until the next 3A 02/03/04, which consumes
 * it whatever the outcome (a recorded envelope cannot be replayed).
 */
#ifndef HSM_LOCK_H
#define HSM_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

#define HSM_LOCK_OPTION 0x0400u
#define HSM_LOCK_SECRET_SIZE 32u
#define HSM_LOCK_POINT_SIZE 65u
#define HSM_LOCK_ENVELOPE_SIZE 48u

/* True when the device record says locked. */
bool hsm_lock_active(void);
/* Opens the session's keys from W (see above) and keeps W in s->mkek. */
int hsm_lock_open_keys(hsm_session *s, const uint8_t w[32]);
/* 3A 01: host point (65 bytes) in, device point out. 6700 for a bad point. */
int hsm_lock_agree(const uint8_t *host_pub, size_t len, uint8_t dev_pub[HSM_LOCK_POINT_SIZE]);
/* Opens an envelope into secret, consuming the agreement: 6986 without one, 6700 for a wrong
 * length or an envelope that does not authenticate (secret is then wiped). */
int hsm_lock_open_envelope(const uint8_t *env, size_t len, uint8_t secret[HSM_LOCK_SECRET_SIZE]);
int hsm_lock_enable(hsm_session *s, const uint8_t secret[HSM_LOCK_SECRET_SIZE]);
int hsm_lock_unlock(hsm_session *s, const uint8_t secret[HSM_LOCK_SECRET_SIZE]);
int hsm_lock_disable(hsm_session *s, const uint8_t secret[HSM_LOCK_SECRET_SIZE]);

#endif
