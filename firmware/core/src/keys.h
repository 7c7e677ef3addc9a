/*
 * keys.h — the key store and the asymmetric crypto facade: the only code that sees private key
 * bytes. Command handlers name keys by number (CCxx) and get results, never key material.
 *
 * A key is the sealed object CCxx (secret.h) whose plaintext is a TLV list:
 *   C0 type (01 RSA, 02 EC)   C1 size: RSA modulus bits / EC mbedTLS group id (2 bytes)
 *   C2 usage counter (4, absent = unlimited)   C3 key domain (1)   C4 allowed algorithms (n)
 *   RSA: 81 N  82 E  83 P  84 Q  85 D  86 DP  87 DQ  88 QP   (everything mbedTLS would otherwise
 *        recompute at every load)
 *   EC:  81 d  82 Q (uncompressed public point, kept so signing never recomputes it); for
 *        X25519/X448 (EC type, Montgomery group) d and Q are the raw little-endian encodings
 *   AES: (C0 03, C1 = secret length in bytes: 16, 24, 32 or 64 when generated, 1..64 when
 *        imported from a blob: a generic secret for HMAC and the KDFs)  81 the secret
 */
#ifndef HSM_KEYS_H
#define HSM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "hsm/tlv.h"
#include "mbedtls/ecp.h"

#define HSM_KEY_RSA 0x01u
#define HSM_KEY_EC 0x02u
#define HSM_KEY_AES 0x03u /* symmetric secret (extensions spec 1.2) */
#define HSM_KEY_UNLIMITED 0xFFFFFFFFu
#define HSM_KEY_ALGS_MAX 32u
#define HSM_DEVICE_KEY_ID 0x00u

typedef struct {
    uint8_t type;
    uint16_t rsa_bits;           /* RSA */
    uint32_t rsa_exponent;       /* RSA */
    mbedtls_ecp_group_id grp;    /* EC */
    uint8_t sym_len;             /* AES: secret length in bytes (1..64; generated: 16/24/32/64) */
    uint32_t counter;            /* uses left, HSM_KEY_UNLIMITED when unlimited */
    uint8_t domain;
    uint8_t nalgs;               /* 0: every algorithm the key type allows */
    uint8_t algs[HSM_KEY_ALGS_MAX];
} hsm_key_spec;

/* Generates a key pair per spec and stores it as CC<id> (replacing a key of that number). */
int hsm_key_generate(const hsm_session *s, uint8_t id, const hsm_key_spec *spec);

/* Appends key id's public key as a CV 7F49 template with alg_oid (DER body bytes). */
int hsm_key_put_public(const hsm_session *s, uint8_t id, const uint8_t *alg_oid,
                       size_t alg_oid_len, hsm_tlv_writer *w);

/* The CV self-signature of key id over msg: RSA PKCS#1 v1.5 SHA-256, or ECDSA SHA-256 as plain
 * r || s. Not subject to the usage counter or the algorithm list (it is part of generation). */
int hsm_key_sign_cvc(const hsm_session *s, uint8_t id, const uint8_t *msg, size_t len,
                     uint8_t *sig, size_t cap, size_t *sig_len);

/* SIGN (68) with algorithm byte alg (core spec 2.12.1). Checks the key's algorithm list and
 * usage counter; decrements the counter after success. */
int hsm_key_sign(const hsm_session *s, uint8_t id, uint8_t alg, const uint8_t *in, size_t len,
                 uint8_t *out, size_t cap, size_t *out_len);

/* DECIPHER (62): RSA 21/22/23, ECDH 80 (core spec 2.13). Same policy checks as signing. */
int hsm_key_decipher(const hsm_session *s, uint8_t id, uint8_t alg, const uint8_t *in,
                     size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Receives the shared x-coordinate (field length, wiped by the caller after fn returns) of an
 * XKEK agreement and the key's domain; returns HSM_OK or an hsm_err. */
typedef int (*hsm_key_agree_fn)(void *ctx, uint8_t domain, const uint8_t *x, size_t len);

/* XKEK derivation (DECIPHER 84, ext. spec 4.3 step 4): ECDH of EC key id with the uncompressed
 * point, then fn. Checks: the key exists (6A82), is a short Weierstrass EC key (6A81), its
 * algorithm list names 84 (6985), the point is on its curve (6A80), uses are left (6984). One
 * use is spent before and refunded when fn or the ECDH fails. */
int hsm_key_xkek_agree(const hsm_session *s, uint8_t id, const uint8_t *point, size_t plen,
                       hsm_key_agree_fn fn, void *ctx);

/* The policy of slot id for an operation that does not use its key (HD signature, ext. spec
 * 2.6): the key exists (6A82), alg is in its list, uses are left; with spend, one use is
 * spent and persisted. */
int hsm_key_slot_policy(const hsm_session *s, uint8_t id, uint8_t alg, bool spend_one);

/* ---- key blobs (DKEK wrap/unwrap, core spec 4.4; the framing is dkek.c's) ---------------- */

#define HSM_BLOB_RSA 0x05u     /* d, n, e */
#define HSM_BLOB_RSA_CRT 0x06u /* dp, dq, p, qinv, q, n, e (accepted on import only) */
#define HSM_BLOB_EC 0x0Cu      /* a, b, p, n, G, d, Q */
#define HSM_BLOB_AES 0x0Fu     /* key length in bytes, then the key bytes (no length prefix) */

typedef struct {
    uint8_t blob_type;
    uint8_t domain;
    uint8_t nalgs;
    uint8_t algs[HSM_KEY_ALGS_MAX];
} hsm_key_export_info;

/* Writes key id's blob plaintext after the 8 random bytes (spec 4.4.2): key size (2) and the
 * components, RSA as type 05, EC as type 0C with a, b, p at full field length and the rest
 * minimal, AES as type 0F. Refuses (HSM_ERR_UNSUPPORTED) a key whose algorithm list lacks 92, and X25519/X448
 * (no agreed encoding). out is wiped on failure; the caller wipes it after use. */
int hsm_key_export_blob_plain(const hsm_session *s, uint8_t id, hsm_key_export_info *info,
                              uint8_t *out, size_t cap, size_t *len);

/* Stores a key from a blob plaintext body (key size field first, the 8 random bytes already
 * skipped) as CC<id> with the given domain and algorithm list (nalgs 0 = all). RSA gets its
 * CRT values computed; an EC curve is identified by p and a, Q recomputed from d.
 * HSM_ERR_EXISTS when CC<id> exists, HSM_ERR_DATA when malformed or inconsistent,
 * HSM_ERR_UNSUPPORTED for an unknown curve, X25519/X448 or an unsupported RSA size. AES blobs
 * (0F) carry 1..64 key bytes (16, 24, 32, 64 for AES; other lengths: a secret for HMAC/KDFs). */
int hsm_key_import(const hsm_session *s, uint8_t id, uint8_t blob_type, const uint8_t *body,
                   size_t len, uint8_t domain, const uint8_t *algs, size_t nalgs);

/* ---- symmetric keys and derivations (extensions spec 1) -------------------------------- */

/* Receives the secret of an AES key for one operation; returns HSM_OK or an hsm_err. The
 * secret is wiped by the caller after fn returns. */
typedef int (*hsm_key_secret_fn)(void *ctx, const uint8_t *secret, size_t len);

/* Runs fn with the secret of AES key id, after the policy checks of SIGN (key exists, type
 * AES else 6A81, alg in the key's list else 6A81, usage counter else 6984). One use is spent
 * before fn runs and refunded when fn fails, so only a successful operation counts (ext. spec
 * 4.5). */
int hsm_key_expose_secret(const hsm_session *s, uint8_t id, uint8_t alg, hsm_key_secret_fn fn,
                          void *ctx);

/* DERIVE (76, ext. spec 1.8): stores EC key dst with d' = (d + a) mod p on src's curve (plain
 * record: no counter, no list, domain 0). Policy as SIGN with algorithm 98. HSM_ERR_REF_UNUSABLE
 * when d' is not a valid private key (0 or >= n). */
int hsm_key_derive_ec(const hsm_session *s, uint8_t src, uint8_t dst, const uint8_t *a,
                      size_t alen);

/* Whether any key (other than the device key) belongs to key domain `domain`. */
int hsm_key_domain_in_use(const hsm_session *s, uint8_t domain, bool *used);

/* X25519 or X448 when p (big-endian) is its prime; HSM_ERR_UNSUPPORTED otherwise. */
int hsm_key_montgomery_from_prime(const uint8_t *p, size_t plen, mbedtls_ecp_group_id *grp);

/* The EC group whose domain parameters p and a (big-endian, any leading zeros) are given;
 * HSM_ERR_UNSUPPORTED when none of the supported curves matches. */
int hsm_key_curve_from_params(const uint8_t *p, size_t plen, const uint8_t *a, size_t alen,
                              mbedtls_ecp_group_id *grp);

#endif
