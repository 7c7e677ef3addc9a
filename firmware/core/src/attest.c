/*
 * attest.c — the authenticated request of a key; the format is in attest.h. `sig` is a static
 * buffer for the two signatures (public values), used within one call.
 */
#include "attest.h"

#include <string.h>

#include "hsm/devid.h"
#include "hsm/err.h"
#include "keys.h"

int hsm_attest_request(const hsm_session *s, uint8_t id, const uint8_t *oid, size_t oid_len,
                       const hsm_tlv *car, const hsm_tlv *chr, hsm_tlv_writer *w)
{
    return hsm_attest_request_ext(s, id, oid, oid_len, car, chr, NULL, 0, w);
}

int hsm_attest_request_ext(const hsm_session *s, uint8_t id, const uint8_t *oid, size_t oid_len,
                           const hsm_tlv *car, const hsm_tlv *chr, const uint8_t *ext,
                           size_t ext_len, hsm_tlv_writer *w)
{
    static uint8_t sig[512];
    size_t sig_len;
    const char *dev = hsm_devid_chr();
    int rc;

    if (dev == NULL) {
        return HSM_ERR_INTERNAL;
    }
    size_t m67 = hsm_tlv_begin(w, 0x67);
    size_t start21 = w->len;
    size_t m21 = hsm_tlv_begin(w, 0x7F21);
    size_t start4e = w->len;
    size_t m4e = hsm_tlv_begin(w, 0x7F4E);
    hsm_tlv_put(w, 0x5F29, "\x00", 1);
    if (car != NULL) {
        hsm_tlv_put(w, 0x42, car->value, car->len);
    } else {
        hsm_tlv_put(w, 0x42, dev, strlen(dev));
    }
    if ((rc = hsm_key_put_public(s, id, oid, oid_len, w)) != HSM_OK) {
        return rc;
    }
    if (chr != NULL) {
        hsm_tlv_put(w, 0x5F20, chr->value, chr->len);
    } else {
        hsm_tlv_put(w, 0x5F20, dev, strlen(dev));
    }
    if (ext != NULL) {
        hsm_tlv_put_raw(w, ext, ext_len);
    }
    hsm_tlv_end(w, m4e);
    if (!hsm_tlv_writer_ok(w)) {
        return HSM_ERR_NO_SPACE;
    }
    rc = hsm_key_sign_cvc(s, id, w->buf + start4e, w->len - start4e, sig, sizeof(sig), &sig_len);
    if (rc != HSM_OK) {
        return rc;
    }
    hsm_tlv_put(w, 0x5F37, sig, sig_len);
    hsm_tlv_end(w, m21);
    hsm_tlv_put(w, 0x42, dev, strlen(dev));
    if (!hsm_tlv_writer_ok(w)) {
        return HSM_ERR_NO_SPACE;
    }
    rc = hsm_devid_sign(s, w->buf + start21, w->len - start21, sig, sizeof(sig), &sig_len);
    if (rc != HSM_OK) {
        return rc;
    }
    hsm_tlv_put(w, 0x5F37, sig, sig_len);
    hsm_tlv_end(w, m67);
    return hsm_tlv_writer_ok(w) ? HSM_OK : HSM_ERR_NO_SPACE;
}
