/*
 * cvc.h — card-verifiable (CV) certificate encoding, BSI TR-03110 style, as the SmartCard-HSM
 * protocol uses it (core spec 3.7, extensions spec 5.2).
 *
 * EC public key template (core spec 2.11.2 / 3.7; the same layout in certificates and in key
 * generation responses):
 *   7F49 { 06 alg OID, 81 p, 82 a, 83 b, 84 G, 85 n, 86 Q, 87 cofactor }
 * Invariants of what is written: elements in ascending tag order (OpenSC's decoder is
 * order-sensitive); p, a and b at exactly the field length, a written explicitly even where
 * the curve has a = -3 (OpenSC identifies the curve by comparing 81 and 82 byte for byte);
 * n at max(field length, order length); G and Q uncompressed (04 || x || y, each coordinate at
 * the field length); cofactor the single byte 01 (every short Weierstrass curve we support).
 *
 * Certificate: 7F21 { 7F4E body, 5F37 signature } with the body
 *   5F29 00 | 42 CAR | 7F49 | 5F20 CHR | 7F4C CHAT | 5F25 effective | 5F24 expiry
 * The signature is ECDSA with SHA-256 (id-TA-ECDSA-SHA-256) over the complete 7F4E TLV (tag,
 * length and value), encoded plain r || s, each at the byte length of the curve order
 * (BSI TR-03111), not DER. CAR and CHR: 1..HSM_CVC_NAME_MAX characters of the ASN.1
 * PrintableString set (OpenSC decodes them as PrintableString). Dates: YYMMDD, one decimal
 * digit (0..9) per byte, month 01..12, day 01..31, years meaning 20YY.
 *
 * Nothing here keeps state; the output buffers belong to the caller. Errors: HSM_ERR_DATA for a
 * bad name or date, HSM_ERR_UNSUPPORTED for a curve that is not short Weierstrass or larger
 * than 521 bits, HSM_ERR_NO_SPACE when the output does not fit, HSM_ERR_ENTROPY when the RNG
 * fails, HSM_ERR_EXEC for any other mbedTLS failure, HSM_ERR_INTERNAL for NULL arguments.
 */
#ifndef HSM_CVC_H
#define HSM_CVC_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/tlv.h"
#include "mbedtls/ecp.h"

#define HSM_CVC_NAME_MAX 16u       /* CAR / CHR characters (OpenSC's buffers hold 16) */
#define HSM_CVC_FIELD_MAX 66u      /* bytes of the largest field and order (P-521) */
#define HSM_CVC_SIG_MAX (2u * HSM_CVC_FIELD_MAX)

/* id-TA-ECDSA-SHA-256, 0.4.0.127.0.7.2.2.2.2.3: DER body bytes (core spec 3.7.2). */
extern const uint8_t hsm_cvc_oid_ecdsa_sha256[10];

/* Appends the 7F49 template of the public key Q on grp, with `alg_oid` (DER body bytes) as the
 * 06 element. Returns HSM_OK, or HSM_ERR_NO_SPACE if the writer overflowed (now or before). */
int hsm_cvc_put_ec_pubkey(hsm_tlv_writer *w, const mbedtls_ecp_group *grp,
                          const mbedtls_ecp_point *Q, const uint8_t *alg_oid, size_t alg_oid_len);

/* Signs `msg` with ECDSA-SHA-256 under `key` (random k from hsm_rng_mbedtls) and writes r || s,
 * each at the order's byte length, to sig. *sig_len = 2 * order length. */
int hsm_cvc_sign_ecdsa_sha256(const mbedtls_ecp_keypair *key, const uint8_t *msg, size_t len,
                              uint8_t *sig, size_t cap, size_t *sig_len);

/* Builds the certificate of `key`'s public key, signed by `key` itself, with the body above:
 * CHAT = role "terminal" (06 09 04 00 7F 00 07 03 01 02 02 53 01 00). Writes *out_len bytes
 * to out[0..cap); on error nothing meaningful is left in out and *out_len is 0. */
int hsm_cvc_build_self_signed(const mbedtls_ecp_keypair *key, const char *car, const char *chr,
                              const uint8_t effective[6], const uint8_t expiry[6], uint8_t *out,
                              size_t cap, size_t *out_len);

/* ---- parsing and verification (extensions spec 5.2, 5.5) ------------------------------- */

/* A parsed certificate; every pointer aliases the parsed input. */
typedef struct {
    const uint8_t *raw;   /* the whole 7F21 TLV */
    size_t raw_len;
    const uint8_t *body;  /* the whole 7F4E TLV: the signed bytes */
    size_t body_len;
    hsm_tlv car, chr;     /* 42, 5F20: 1..HSM_CVC_NAME_MAX bytes */
    hsm_tlv pubkey;       /* value of 7F49: 06 OID first */
    hsm_tlv sig;          /* value of 5F37 */
    bool has_chat;
    bool has_dates;       /* 5F25 and 5F24 both present, valid YYMMDD */
    uint8_t effective[6], expiry[6];
} hsm_cvc_cert;

/* Parses the first TLV of buf[0..len) as a certificate (7F21 { 7F4E body, 5F37 sig }); *used
 * is its size. Body elements: 5F29, 42, 7F49, 5F20 mandatory in this order; 7F4C, 5F25, 5F24,
 * 65 optional. Returns HSM_OK or HSM_ERR_DATA. */
int hsm_cvc_parse(const uint8_t *buf, size_t len, hsm_cvc_cert *c, size_t *used);

/* Checks c's signature with the issuer public key `key` (a 7F49 value: 06 id-TA-ECDSA-SHA-256
 * and 86 point) on the curve named by the 81 p / 82 a of `domain` (a 7F49 value with domain
 * parameters; may be `key` itself). HSM_OK, HSM_ERR_CONDITIONS when the signature is wrong,
 * HSM_ERR_UNSUPPORTED for another algorithm or an unknown curve, HSM_ERR_DATA when a key is
 * malformed. */
int hsm_cvc_verify(const hsm_cvc_cert *c, const uint8_t *key, size_t key_len,
                   const uint8_t *domain, size_t domain_len);

/* The same check for a signature over a SHA-256 digest computed elsewhere (sig = r || s), e.g.
 * the XKEK membership signature (extensions spec 4.3 step 2). Same results. */
int hsm_cvc_verify_digest(const uint8_t hash[32], const uint8_t *sig, size_t sig_len,
                          const uint8_t *key, size_t key_len, const uint8_t *domain,
                          size_t domain_len);

/* -1, 0, 1 as date a is before, equal to, after date b (YYMMDD digits). */
int hsm_cvc_date_cmp(const uint8_t a[6], const uint8_t b[6]);

#endif
