/*
 * fuzz_sm.c — libFuzzer target over the secure-messaging unwrap and wrap (sm.h).
 *
 * A channel with fixed keys is opened for each input. Input: byte 0 selects how the rest
 * becomes the data field of a protected APDU (CLA INS P1 P2 from bytes 1..4):
 *   0  as it is (the envelope parser, MAC check and refusal path);
 *   1  data objects followed by 8E with the right MAC (reaches the DO checks, decryption and
 *      padding behind an authentic MAC);
 *   2  byte 5 = Le length (0..2), then Le, then plaintext: encrypted and padded correctly
 *      (reaches a successful unwrap, then wrap of an answer of the same size).
 * Invariants (abort otherwise): a refusal is 6984 with the channel wiped; an accepted APDU has
 * nc <= HSM_SM_DATA_MAX with data inside the plaintext buffer, and mode 2 gives back exactly
 * its plaintext; the same APDU never verifies twice; a wrap fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/err.h"
#include "mbedtls/aes.h"
#include "sm.h"

static uint8_t plain[HSM_SM_DATA_MAX + 16];
static uint8_t out[HSM_SM_DATA_MAX + 64];

static const uint8_t kenc[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t kmac[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};

static size_t put_pad(uint8_t *p, size_t len)
{
    size_t n = 16 - (len % 16);
    p[0] = 0x80;
    memset(p + 1, 0, n - 1);
    return n;
}

/* Appends 8E 08 <MAC over SSC+1 || pad(header) || pad(dos)> after dos[0..n). */
static size_t add_mac(const hsm_sm *sm, const uint8_t hdr[4], uint8_t *dos, size_t n)
{
    static uint8_t macin[16 + 16 + HSM_SM_DATA_MAX + 128];
    uint8_t mac[16];
    size_t k = 0;
    memcpy(macin, sm->ssc, 16);
    for (int i = 15; i >= 0 && ++macin[i] == 0; i--) {
    }
    k = 16;
    memcpy(macin + k, hdr, 4);
    k += 4 + put_pad(macin + k + 4, 4);
    if (n > 0) {
        memcpy(macin + k, dos, n);
        k += n;
        k += put_pad(macin + k, n);
    }
    if (hsm_sm_cmac(sm->kmac, macin, k, mac) != HSM_OK) {
        abort();
    }
    dos[n] = 0x8E, dos[n + 1] = 0x08;
    memcpy(dos + n + 2, mac, 8);
    return n + 10;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t field[HSM_SM_DATA_MAX + 128];
    hsm_sm sm;
    hsm_apdu outer, in;
    if (size < 5) {
        return 0;
    }
    uint8_t mode = data[0] % 3;
    const uint8_t *hdr = data + 1;
    data += 5, size -= 5;
    hsm_sm_start(&sm, kenc, kmac);
    memset(&outer, 0, sizeof(outer));
    outer.cla = (hdr[0] & 0x80) ? 0x8C : 0x0C;
    outer.ins = hdr[1], outer.p1 = hdr[2], outer.p2 = hdr[3];
    uint8_t h[4] = {outer.cla, outer.ins, outer.p1, outer.p2};
    size_t n = 0, pn = 0;
    const uint8_t *pt = NULL;

    if (mode == 0) {
        n = size < sizeof(field) ? size : sizeof(field);
        memcpy(field, data, n);
    } else if (mode == 1) {
        n = size < sizeof(field) - 10 ? size : sizeof(field) - 10;
        memcpy(field, data, n);
        n = add_mac(&sm, h, field, n);
    } else {
        size_t lelen = size > 0 ? data[0] % 3 : 0;
        if (size < 1 + lelen) {
            return 0;
        }
        const uint8_t *le = data + 1;
        pt = data + 1 + lelen;
        pn = size - 1 - lelen;
        if (pn > HSM_SM_DATA_MAX) {
            pn = HSM_SM_DATA_MAX;
        }
        if (pn > 0) {
            size_t p = (pn / 16 + 1) * 16, vlen = p + 1, o;
            field[0] = 0x87;
            if (vlen < 0x80) {
                field[1] = (uint8_t)vlen, o = 2;
            } else if (vlen <= 0xFF) {
                field[1] = 0x81, field[2] = (uint8_t)vlen, o = 3;
            } else {
                field[1] = 0x82, field[2] = (uint8_t)(vlen >> 8), field[3] = (uint8_t)vlen, o = 4;
            }
            field[o++] = 0x01;
            memcpy(field + o, pt, pn);
            put_pad(field + o + pn, pn);
            uint8_t ssc[16], iv[16];
            memcpy(ssc, sm.ssc, 16);
            ssc[15]++;
            mbedtls_aes_context aes;
            mbedtls_aes_init(&aes);
            mbedtls_aes_setkey_enc(&aes, kenc, 128);
            mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, ssc, iv);
            mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, p, iv, field + o, field + o);
            mbedtls_aes_free(&aes);
            n = o + p;
        }
        if (lelen > 0) {
            field[n++] = 0x97, field[n++] = (uint8_t)lelen;
            memcpy(field + n, le, lelen);
            n += lelen;
        }
        n = add_mac(&sm, h, field, n);
    }
    /* Copied to a block of its own size so ASan sees any read past the envelope. */
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, field, n);
    outer.data = n ? copy : NULL;
    outer.nc = n;
    int rc = hsm_sm_unwrap(&sm, &outer, plain, sizeof(plain), &in);
    if (rc != HSM_OK) {
        static const hsm_sm zero;
        if (rc != HSM_ERR_REF_UNUSABLE || memcmp(&sm, &zero, sizeof(sm)) != 0 || mode == 2) {
            abort();
        }
    } else {
        if (in.nc > HSM_SM_DATA_MAX || (in.nc > 0 && (in.data < plain || in.data + in.nc > plain + sizeof(plain)))) {
            abort();
        }
        if (mode == 2 && (in.nc != pn || (pn > 0 && memcmp(in.data, pt, pn) != 0))) {
            abort();
        }
        /* The same bytes with the counter already used never verify. */
        hsm_sm again = sm;
        hsm_apdu in2;
        if (hsm_sm_unwrap(&again, &outer, plain, sizeof(plain), &in2) == HSM_OK) {
            abort();
        }
        size_t len = 0, m = in.nc < hsm_sm_room(sizeof(out)) ? in.nc : hsm_sm_room(sizeof(out));
        memcpy(out, plain, m);
        if (hsm_sm_wrap(&sm, out, m, sizeof(out), 0x9000, &len) != HSM_OK || len > sizeof(out)) {
            abort();
        }
    }
    free(copy);
    hsm_sm_close(&sm);
    return 0;
}
