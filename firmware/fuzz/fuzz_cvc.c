/*
 * fuzz_cvc.c — libFuzzer target over the CV-certificate parser and verifier (hsm/cvc.h), which
 * face certificates from outside: PSO VERIFY CERTIFICATE, 2F02 writes, peer certificates.
 *
 * Input: a mode byte, then up to four concatenated certificates. Each is parsed in turn; every
 * field the parser returns must lie inside the certificate it came from, and the signed body
 * inside it too. Every parsed certificate is also put through the verifier with its signature
 * cut to one byte (key and domain decoding, point validation, then the length refusal before
 * any ECDSA arithmetic): that must never be HSM_OK. One ECDSA verification costs milliseconds
 * under the sanitizers, so a full one runs only for mode bytes 00..07 and only once per input:
 * certificate (mode & 3) against itself (mode & 4, or when it is the last) or against the next
 * certificate's key (a chain: device, then DV, then root), the last one's key as domain. Every
 * answer must be one of the documented results.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hsm/cvc.h"
#include "hsm/err.h"

#define MAX_CERTS 4

static int inside(const uint8_t *p, size_t n, const uint8_t *lo, size_t len)
{
    return p >= lo && n <= len && (size_t)(p - lo) <= len - n;
}

static void check_tlv(const hsm_tlv *t, const hsm_cvc_cert *c)
{
    if (t->len && !inside(t->value, t->len, c->raw, c->raw_len)) {
        abort();
    }
}

static void check_verify(int rc)
{
    if (rc != HSM_OK && rc != HSM_ERR_CONDITIONS && rc != HSM_ERR_UNSUPPORTED && rc != HSM_ERR_DATA) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsm_cvc_cert certs[MAX_CERTS];
    size_t n = 0, off = 0;
    if (size == 0) {
        return 0;
    }
    const unsigned mode = data[0];
    data++, size--;
    while (off < size && n < MAX_CERTS) {
        hsm_cvc_cert *c = &certs[n];
        size_t used = 0;
        if (hsm_cvc_parse(data + off, size - off, c, &used) != HSM_OK) {
            break;
        }
        if (used == 0 || used > size - off || c->raw != data + off || c->raw_len != used) {
            abort();
        }
        if (!inside(c->body, c->body_len, c->raw, c->raw_len)) {
            abort();
        }
        check_tlv(&c->car, c);
        check_tlv(&c->chr, c);
        check_tlv(&c->pubkey, c);
        check_tlv(&c->sig, c);
        if (c->car.len == 0 || c->car.len > HSM_CVC_NAME_MAX || c->chr.len == 0 ||
            c->chr.len > HSM_CVC_NAME_MAX) {
            abort();
        }
        if (c->has_dates && hsm_cvc_date_cmp(c->effective, c->effective) != 0) {
            abort();
        }
        off += used;
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        hsm_cvc_cert cut = certs[i];
        const hsm_cvc_cert *issuer = i + 1 < n ? &certs[i + 1] : &certs[i];
        cut.sig.len = 1;
        int rc = hsm_cvc_verify(&cut, issuer->pubkey.value, issuer->pubkey.len, certs[n - 1].pubkey.value,
                                certs[n - 1].pubkey.len);
        check_verify(rc);
        if (rc == HSM_OK) {
            abort(); /* a one-byte signature never verifies */
        }
    }
    const size_t i = mode & 3u;
    if (mode < 8u && i < n) {
        const hsm_cvc_cert *c = &certs[i];
        const hsm_cvc_cert *issuer = (mode & 4u) || i + 1 == n ? c : &certs[i + 1];
        const hsm_cvc_cert *last = &certs[n - 1];
        check_verify(hsm_cvc_verify(c, issuer->pubkey.value, issuer->pubkey.len, last->pubkey.value,
                                    last->pubkey.len));
    }
    return 0;
}
