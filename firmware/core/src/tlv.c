/*
 * tlv.c — BER-TLV reader and writer; see tlv.h for the accepted forms.
 *
 * Reader invariant: r->p <= r->end at all times; every byte read is checked against end
 * before it is read. Writer invariant: w->len <= w->cap; once overflow is set, nothing more
 * is written, and hsm_tlv_writer_ok() reports the failure.
 */
#include "hsm/tlv.h"

#include <string.h>

#include "hsm/err.h"

void hsm_tlv_reader_init(hsm_tlv_reader *r, const uint8_t *buf, size_t len)
{
    r->p = buf;
    r->end = buf ? buf + len : buf;
}

int hsm_tlv_next(hsm_tlv_reader *r, hsm_tlv *out)
{
    const uint8_t *p = r->p;
    if (p == NULL || p >= r->end) {
        return 0;
    }
    /* Tag. */
    uint32_t tag = *p++;
    bool constructed = (tag & 0x20) != 0;
    if ((tag & 0x1F) == 0x1F) {
        unsigned n = 1;
        for (;;) {
            if (p >= r->end || n >= 4) {
                return HSM_ERR_DATA;
            }
            uint8_t b = *p++;
            tag = (tag << 8) | b;
            n++;
            if ((b & 0x80) == 0) {
                break;
            }
        }
    }
    /* Length. */
    if (p >= r->end) {
        return HSM_ERR_DATA;
    }
    size_t len = *p++;
    if (len & 0x80) {
        size_t nbytes = len & 0x7F;
        if (nbytes == 0 || nbytes > 3 || (size_t)(r->end - p) < nbytes) {
            return HSM_ERR_DATA;
        }
        len = 0;
        for (size_t i = 0; i < nbytes; i++) {
            len = (len << 8) | *p++;
        }
    }
    if ((size_t)(r->end - p) < len) {
        return HSM_ERR_DATA;
    }
    out->tag = tag;
    out->constructed = constructed;
    out->value = p;
    out->len = len;
    r->p = p + len;
    return 1;
}

int hsm_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, hsm_tlv *out)
{
    hsm_tlv_reader r;
    hsm_tlv t;
    int rc;
    hsm_tlv_reader_init(&r, buf, len);
    while ((rc = hsm_tlv_next(&r, &t)) == 1) {
        if (t.tag == tag) {
            *out = t;
            return 1;
        }
    }
    return rc;
}

void hsm_tlv_writer_init(hsm_tlv_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->overflow = false;
}

bool hsm_tlv_writer_ok(const hsm_tlv_writer *w)
{
    return !w->overflow;
}

void hsm_tlv_put_raw(hsm_tlv_writer *w, const void *data, size_t len)
{
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (len) {
        memmove(w->buf + w->len, data, len);
    }
    w->len += len;
}

size_t hsm_tlv_tag_size(uint32_t tag)
{
    return tag > 0xFFFFFF ? 4 : tag > 0xFFFF ? 3 : tag > 0xFF ? 2 : 1;
}

size_t hsm_tlv_len_size(size_t len)
{
    return len < 0x80 ? 1 : len <= 0xFF ? 2 : len <= 0xFFFF ? 3 : 4;
}

static void put_tag(hsm_tlv_writer *w, uint32_t tag)
{
    uint8_t b[4];
    size_t n = hsm_tlv_tag_size(tag);
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
    }
    hsm_tlv_put_raw(w, b, n);
}

static size_t encode_len(uint8_t b[4], size_t len)
{
    size_t n = hsm_tlv_len_size(len);
    if (n == 1) {
        b[0] = (uint8_t)len;
    } else {
        b[0] = (uint8_t)(0x80 | (n - 1));
        for (size_t i = 1; i < n; i++) {
            b[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
        }
    }
    return n;
}

void hsm_tlv_put(hsm_tlv_writer *w, uint32_t tag, const void *value, size_t len)
{
    uint8_t b[4];
    put_tag(w, tag);
    hsm_tlv_put_raw(w, b, encode_len(b, len));
    hsm_tlv_put_raw(w, value, len);
}

/* begin writes the tag and a one-byte length placeholder; the mark is the placeholder's
 * offset. end computes the value length and, if the length needs more bytes, shifts the
 * value right. */
size_t hsm_tlv_begin(hsm_tlv_writer *w, uint32_t tag)
{
    static const uint8_t zero = 0;
    put_tag(w, tag);
    size_t mark = w->len;
    hsm_tlv_put_raw(w, &zero, 1);
    return mark;
}

void hsm_tlv_end(hsm_tlv_writer *w, size_t mark)
{
    if (w->overflow) {
        return;
    }
    size_t vlen = w->len - mark - 1;
    uint8_t b[4];
    size_t n = encode_len(b, vlen);
    if (n > 1) {
        if (n - 1 > w->cap - w->len) {
            w->overflow = true;
            return;
        }
        memmove(w->buf + mark + n, w->buf + mark + 1, vlen);
        w->len += n - 1;
    }
    memcpy(w->buf + mark, b, n);
}
