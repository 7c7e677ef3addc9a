/*
 * sm.c — secure messaging codec and session keys; the formats are stated in sm.h.
 *
 * Encrypt-then-MAC: the MAC is verified (constant time) before anything is decrypted, so a
 * padding check can tell nothing to someone without K_mac. Every failure closes the channel.
 */
#include "sm.h"

#include <string.h>

#include "hsm/err.h"
#include "hsm/tlv.h"
#include "mbedtls/aes.h"
#include "mbedtls/cipher.h"
#include "mbedtls/cmac.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha1.h"

const uint8_t hsm_sm_oid_ca_ecdh_aes128[10] = {0x04, 0x00, 0x7F, 0x00, 0x07,
                                               0x02, 0x02, 0x03, 0x02, 0x02};

/* Overhead of a response without data: 99 02 SW1 SW2, 8E 08 MAC. */
#define TRAILER_LEN 14u
/* Largest header of 87: tag, 82 hi lo, 01. */
#define DO87_HDR_MAX 5u

void hsm_sm_close(hsm_sm *sm)
{
    mbedtls_platform_zeroize(sm, sizeof(*sm));
}

void hsm_sm_forget_session_pin(hsm_sm *sm)
{
    mbedtls_platform_zeroize(sm->spin, sizeof(sm->spin));
    mbedtls_platform_zeroize(sm->mkek, sizeof(sm->mkek));
    sm->spin_set = false;
}

void hsm_sm_start(hsm_sm *sm, const uint8_t kenc[16], const uint8_t kmac[16])
{
    hsm_sm_close(sm);
    memcpy(sm->kenc, kenc, 16);
    memcpy(sm->kmac, kmac, 16);
    sm->open = true;
}

bool hsm_sm_is_protected(uint8_t cla)
{
    return cla == 0x0C || cla == 0x8C;
}

int hsm_sm_kdf(const uint8_t *z, size_t zlen, const uint8_t r[8], uint8_t kenc[16],
               uint8_t kmac[16])
{
    mbedtls_sha1_context h;
    uint8_t out[20];
    uint8_t counter[4] = {0, 0, 0, 1};
    int rc = HSM_OK;
    for (int i = 0; i < 2 && rc == HSM_OK; i++) {
        counter[3] = (uint8_t)(i + 1);
        mbedtls_sha1_init(&h);
        if (mbedtls_sha1_starts(&h) != 0 || mbedtls_sha1_update(&h, z, zlen) != 0 ||
            mbedtls_sha1_update(&h, r, 8) != 0 || mbedtls_sha1_update(&h, counter, 4) != 0 ||
            mbedtls_sha1_finish(&h, out) != 0) {
            rc = HSM_ERR_EXEC;
        } else {
            memcpy(i == 0 ? kenc : kmac, out, 16);
        }
        mbedtls_sha1_free(&h);
    }
    mbedtls_platform_zeroize(out, sizeof(out));
    return rc;
}

/* Streaming AES-128-CMAC over up to four parts. */
static int cmac_parts(const uint8_t key[16], const uint8_t *const *part, const size_t *len,
                      size_t parts, uint8_t mac[16])
{
    mbedtls_cipher_context_t ctx;
    int ret;
    mbedtls_cipher_init(&ctx);
    ret = mbedtls_cipher_setup(&ctx, mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_ECB));
    if (ret == 0) {
        ret = mbedtls_cipher_cmac_starts(&ctx, key, 128);
    }
    for (size_t i = 0; i < parts && ret == 0; i++) {
        if (len[i] > 0) {
            ret = mbedtls_cipher_cmac_update(&ctx, part[i], len[i]);
        }
    }
    if (ret == 0) {
        ret = mbedtls_cipher_cmac_finish(&ctx, mac);
    }
    mbedtls_cipher_free(&ctx);
    return ret == 0 ? HSM_OK : HSM_ERR_EXEC;
}

int hsm_sm_cmac(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t mac[16])
{
    const uint8_t *p[1] = {msg};
    size_t l[1] = {len};
    return cmac_parts(key, p, l, 1, mac);
}

int hsm_sm_token(const uint8_t kmac[16], const uint8_t pub[65], uint8_t token[8])
{
    uint8_t in[3 + 2 + 10 + 2 + 65] = {0x7F, 0x49, 0x4F, 0x06, 0x0A};
    uint8_t mac[16];
    memcpy(in + 5, hsm_sm_oid_ca_ecdh_aes128, 10);
    in[15] = 0x86;
    in[16] = 0x41;
    memcpy(in + 17, pub, 65);
    int rc = hsm_sm_cmac(kmac, in, sizeof(in), mac);
    memcpy(token, mac, 8);
    mbedtls_platform_zeroize(mac, sizeof(mac));
    return rc;
}

static void ssc_increment(uint8_t ssc[16])
{
    for (int i = 15; i >= 0; i--) {
        if (++ssc[i] != 0) {
            break;
        }
    }
}

/* ISO 9797-1 method 2 padding that completes `len` bytes to a block: 1..16 bytes. */
static size_t pad_block(size_t len, uint8_t pad[16])
{
    size_t n = 16 - (len % 16);
    memset(pad, 0, 16);
    pad[0] = 0x80;
    return n;
}

/* CBC with IV = AES(K_enc, SSC), in place allowed. */
static int cbc(const hsm_sm *sm, int mode, const uint8_t *in, uint8_t *out, size_t len)
{
    mbedtls_aes_context aes;
    uint8_t iv[16];
    int ret;
    mbedtls_aes_init(&aes);
    ret = mbedtls_aes_setkey_enc(&aes, sm->kenc, 128);
    if (ret == 0) {
        ret = mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, sm->ssc, iv);
    }
    if (ret == 0 && mode == MBEDTLS_AES_DECRYPT) {
        ret = mbedtls_aes_setkey_dec(&aes, sm->kenc, 128);
    }
    if (ret == 0) {
        ret = mbedtls_aes_crypt_cbc(&aes, mode, len, iv, in, out);
    }
    mbedtls_aes_free(&aes);
    mbedtls_platform_zeroize(iv, sizeof(iv));
    return ret == 0 ? HSM_OK : HSM_ERR_EXEC;
}

static int fail(hsm_sm *sm, uint8_t *plain, size_t cap)
{
    hsm_sm_close(sm);
    mbedtls_platform_zeroize(plain, cap);
    return HSM_ERR_REF_UNUSABLE;
}

int hsm_sm_unwrap(hsm_sm *sm, const hsm_apdu *outer, uint8_t *plain, size_t cap,
                  hsm_apdu *inner)
{
    hsm_tlv_reader r;
    hsm_tlv t, cryptogram = {0}, le = {0}, mac = {0};
    bool have_crypt = false, have_le = false, have_mac = false;
    const uint8_t *dos_end = NULL;

    memset(inner, 0, sizeof(*inner));
    if (!sm->open || outer->nc == 0 || cap < HSM_SM_DATA_MAX + 16) {
        return fail(sm, plain, cap);
    }
    ssc_increment(sm->ssc);

    /* Envelope: [87|85] [97] 8E, in this order, each at most once, nothing after 8E. */
    hsm_tlv_reader_init(&r, outer->data, outer->nc);
    for (;;) {
        const uint8_t *start = r.p;
        int got = hsm_tlv_next(&r, &t);
        if (got == 0) {
            break;
        }
        if (got < 0 || have_mac) {
            return fail(sm, plain, cap);
        }
        if ((t.tag == 0x87 || t.tag == 0x85) && !have_crypt && !have_le) {
            cryptogram = t, have_crypt = true;
        } else if (t.tag == 0x97 && !have_le) {
            le = t, have_le = true;
        } else if (t.tag == 0x8E) {
            mac = t, have_mac = true;
            dos_end = start;
        } else {
            return fail(sm, plain, cap);
        }
    }
    if (!have_mac || (mac.len != 8 && mac.len != 16)) {
        return fail(sm, plain, cap);
    }

    /* MAC over SSC || pad(header) || pad(DOs) (the DO part only when there are DOs). */
    uint8_t header[16] = {outer->cla, outer->ins, outer->p1, outer->p2, 0x80};
    uint8_t pad[16], expect[16];
    size_t dos_len = (size_t)(dos_end - outer->data);
    size_t pad_len = dos_len > 0 ? pad_block(dos_len, pad) : 0;
    const uint8_t *parts[4] = {sm->ssc, header, outer->data, pad};
    size_t lens[4] = {16, 16, dos_len, pad_len};
    if (cmac_parts(sm->kmac, parts, lens, 4, expect) != HSM_OK) {
        return fail(sm, plain, cap);
    }
    int diff = mbedtls_ct_memcmp(expect, mac.value, mac.len);
    mbedtls_platform_zeroize(expect, sizeof(expect));
    if (diff != 0) {
        return fail(sm, plain, cap);
    }

    /* Authentic from here on. */
    size_t nc = 0;
    if (have_crypt) {
        const uint8_t *c = cryptogram.value;
        size_t m = cryptogram.len;
        if (cryptogram.tag == 0x87) {
            if (m == 0 || c[0] != 0x01) {
                return fail(sm, plain, cap);
            }
            c++, m--;
        }
        if (m == 0 || m % 16 != 0 || m > HSM_SM_DATA_MAX + 16 || m > cap ||
            cbc(sm, MBEDTLS_AES_DECRYPT, c, plain, m) != HSM_OK) {
            return fail(sm, plain, cap);
        }
        size_t i = m - 1;
        while (i > m - 16 && plain[i] == 0x00) {
            i--;
        }
        if (plain[i] != 0x80 || i > HSM_SM_DATA_MAX) {
            return fail(sm, plain, cap);
        }
        nc = i;
    }
    size_t ne = 0;
    if (have_le) {
        if (le.len == 1) {
            ne = le.value[0] ? le.value[0] : 256u;
        } else if (le.len == 2) {
            ne = ((size_t)le.value[0] << 8) | le.value[1];
            ne = ne ? ne : 65536u;
            inner->extended = true;
        } else {
            return fail(sm, plain, cap);
        }
    }
    inner->cla = (uint8_t)(outer->cla & ~0x0Cu);
    inner->ins = outer->ins;
    inner->p1 = outer->p1;
    inner->p2 = outer->p2;
    inner->data = nc > 0 ? plain : NULL;
    inner->nc = nc;
    inner->ne = ne;
    inner->iso_case = nc == 0 ? (ne == 0 ? 1 : 2) : (ne == 0 ? 3 : 4);
    inner->extended = inner->extended || nc > 255 || ne > 256;
    return HSM_OK;
}

size_t hsm_sm_room(size_t room)
{
    if (room < TRAILER_LEN + DO87_HDR_MAX + 16) {
        return 0;
    }
    return ((room - TRAILER_LEN - DO87_HDR_MAX) / 16) * 16 - 1;
}

int hsm_sm_wrap(hsm_sm *sm, uint8_t *buf, size_t n, size_t cap, uint16_t sw, size_t *out_len)
{
    size_t pos = 0;
    *out_len = 0;
    if (!sm->open || (n > 0 && n > hsm_sm_room(cap)) || cap < TRAILER_LEN) {
        hsm_sm_close(sm);
        return HSM_ERR_WRONG_LENGTH;
    }
    ssc_increment(sm->ssc);
    if (n > 0) {
        size_t p = (n / 16 + 1) * 16, vlen = p + 1;
        size_t hl = vlen < 0x80 ? 2 : (vlen <= 0xFF ? 3 : 4);
        memmove(buf + hl + 1, buf, n);
        uint8_t *body = buf + hl + 1;
        body[n] = 0x80;
        memset(body + n + 1, 0, p - n - 1);
        buf[0] = 0x87;
        if (hl == 2) {
            buf[1] = (uint8_t)vlen;
        } else if (hl == 3) {
            buf[1] = 0x81, buf[2] = (uint8_t)vlen;
        } else {
            buf[1] = 0x82, buf[2] = (uint8_t)(vlen >> 8), buf[3] = (uint8_t)vlen;
        }
        buf[hl] = 0x01;
        if (cbc(sm, MBEDTLS_AES_ENCRYPT, body, body, p) != HSM_OK) {
            mbedtls_platform_zeroize(buf, cap);
            hsm_sm_close(sm);
            return HSM_ERR_EXEC;
        }
        pos = hl + 1 + p;
    }
    buf[pos++] = 0x99;
    buf[pos++] = 0x02;
    buf[pos++] = (uint8_t)(sw >> 8);
    buf[pos++] = (uint8_t)sw;
    uint8_t pad[16], mac[16];
    size_t pad_len = pad_block(pos, pad);
    const uint8_t *parts[3] = {sm->ssc, buf, pad};
    size_t lens[3] = {16, pos, pad_len};
    if (cmac_parts(sm->kmac, parts, lens, 3, mac) != HSM_OK) {
        hsm_sm_close(sm);
        return HSM_ERR_EXEC;
    }
    buf[pos++] = 0x8E;
    buf[pos++] = 0x08;
    memcpy(buf + pos, mac, 8);
    pos += 8;
    *out_len = pos;
    return HSM_OK;
}
