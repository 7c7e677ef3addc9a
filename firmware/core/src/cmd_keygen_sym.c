/*
 * cmd_keygen_sym.c — GENERATE SYMMETRIC KEY (48), extensions spec 1.2.
 *
 * P1 = key number 01..FF (00, the device key: 6A86); P2 = B0 AES-128, B1 AES-192, B2 AES-256,
 * B3 AES-512 (64 bytes, for AES-256-XTS); any other P2 yields AES-256 as the reference does.
 * Data: optional top-level key attributes 90 usage counter (1..4 bytes), 91 allowed algorithms,
 * 92 key domain (1 byte); 93 and anything else is ignored. Answer: empty.
 *
 * Stored: the key record CC<id> (keys.c, sealed) and its PKCS#15 secret-key description C4<id>
 *   A8 { 30 { 0C "" }, 30 { 04 "<id in decimal>" 03 03 07 C0 10 }, A0 { 30 { 02 02 <bits> } },
 *        A1 { 30 { 30 { 04 "" } } } }
 * which pypicohsm reads for the key size. A failure to write it removes the key again (6400).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "keys.h"

static int parse_attrs(const hsm_apdu *a, hsm_key_spec *sp)
{
    hsm_tlv_reader rd;
    hsm_tlv t;
    int rc;
    hsm_tlv_reader_init(&rd, a->data, a->nc);
    while ((rc = hsm_tlv_next(&rd, &t)) == 1) {
        if (t.tag == 0x90) {
            if (t.len == 0 || t.len > 4) return HSM_ERR_DATA;
            uint32_t v = 0;
            for (size_t i = 0; i < t.len; i++) v = (v << 8) | t.value[i];
            sp->counter = v == HSM_KEY_UNLIMITED ? v - 1 : v;
        } else if (t.tag == 0x91) {
            if (t.len > HSM_KEY_ALGS_MAX) return HSM_ERR_DATA;
            sp->nalgs = (uint8_t)t.len;
            memcpy(sp->algs, t.value, t.len);
        } else if (t.tag == 0x92) {
            if (t.len != 1) return HSM_ERR_DATA;
            sp->domain = t.value[0];
        }
    }
    return rc < 0 ? HSM_ERR_DATA : HSM_OK;
}

static int write_prkd(uint8_t id, unsigned bits)
{
    uint8_t buf[64], kid[4];
    hsm_tlv_writer w;
    int n = snprintf((char *)kid, sizeof(kid), "%u", (unsigned)id);
    const uint8_t usage[] = {0x07, 0xC0, 0x10}, size[] = {(uint8_t)(bits >> 8), (uint8_t)bits};
    hsm_tlv_writer_init(&w, buf, sizeof(buf));
    size_t top = hsm_tlv_begin(&w, 0xA8);
    size_t m = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x0C, NULL, 0);
    hsm_tlv_end(&w, m);
    m = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x04, kid, (size_t)n);
    hsm_tlv_put(&w, 0x03, usage, sizeof(usage));
    hsm_tlv_end(&w, m);
    m = hsm_tlv_begin(&w, 0xA0);
    size_t m2 = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x02, size, sizeof(size));
    hsm_tlv_end(&w, m2);
    hsm_tlv_end(&w, m);
    m = hsm_tlv_begin(&w, 0xA1);
    m2 = hsm_tlv_begin(&w, 0x30);
    size_t m3 = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x04, NULL, 0);
    hsm_tlv_end(&w, m3);
    hsm_tlv_end(&w, m2);
    hsm_tlv_end(&w, m);
    hsm_tlv_end(&w, top);
    if (!hsm_tlv_writer_ok(&w)) {
        return HSM_ERR_INTERNAL;
    }
    return hsm_store_write((uint16_t)((HSM_PREFIX_PRKD << 8) | id), buf, w.len, 0);
}

int hsm_cmd_generate_sym(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    static const uint8_t lens[] = {16, 24, 32, 64};
    hsm_key_spec spec;
    if (a->p1 == HSM_DEVICE_KEY_ID) {
        return HSM_ERR_P1P2;
    }
    memset(&spec, 0, sizeof(spec));
    spec.type = HSM_KEY_AES;
    spec.counter = HSM_KEY_UNLIMITED;
    spec.sym_len = a->p2 >= 0xB0 && a->p2 <= 0xB3 ? lens[a->p2 - 0xB0] : 32;
    int rc = parse_attrs(a, &spec);
    if (rc == HSM_OK) {
        rc = hsm_key_generate(c->s, a->p1, &spec);
    }
    if (rc == HSM_OK && write_prkd(a->p1, spec.sym_len * 8u) != HSM_OK) {
        (void)hsm_store_delete((uint16_t)((HSM_PREFIX_KEY << 8) | a->p1));
        rc = HSM_ERR_EXEC;
    }
    return rc;
}
