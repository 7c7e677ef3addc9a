#define _GNU_SOURCE /* memmem */
/*
 * test_sym.c — symmetric keys (extensions spec 1): the sym.c facade against published vectors
 * (NIST SP 800-38A/B/C/D, IEEE 1619, RFC 8439, 4231, 5869, 6070, NIST CAVS X9.63), then the
 * commands through the card's APDU entry point: GENERATE SYMMETRIC KEY (48), CIPHER SYMMETRIC
 * (78) with answers checked against mbedTLS called directly on the key read back through
 * production code, every error status word, usage counters, and DERIVE (76).
 */
#include "keys_common.h"
#include "mbedtls/aes.h"
#include "mbedtls/cipher.h"
#include "mbedtls/cmac.h"
#include "sym.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) abort();
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static const char *sp38a_pt = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
                              "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";

static void check_aes(hsm_sym_mode mode, const char *key, const char *iv, const char *aad,
                      size_t tag_len, const char *pt, const char *ct)
{
    uint8_t k[64], v[16], a[64], p[256], c[256], out[256];
    size_t kl = unhex(key, k), vl = iv ? unhex(iv, v) : 0, al = aad ? unhex(aad, a) : 0;
    size_t pl = unhex(pt, p), cl = unhex(ct, c), n = 0;
    hsm_sym_params prm = {iv ? v : NULL, vl, aad ? a : NULL, al, tag_len};
    CHECK_EQ_INT(hsm_sym_aes(mode, true, k, kl, &prm, p, pl, out, sizeof(out), &n), HSM_OK);
    CHECK(n == cl && memcmp(out, c, cl) == 0);
    CHECK_EQ_INT(hsm_sym_aes(mode, false, k, kl, &prm, c, cl, out, sizeof(out), &n), HSM_OK);
    CHECK(n == pl && memcmp(out, p, pl) == 0);
    if (mode == HSM_SYM_GCM || mode == HSM_SYM_CCM) {
        /* A flipped tag bit: no plaintext, output zeroed. */
        c[cl - 1] ^= 1;
        memset(out, 0xEE, sizeof(out));
        CHECK_EQ_INT(hsm_sym_aes(mode, false, k, kl, &prm, c, cl, out, sizeof(out), &n), HSM_ERR_EXEC);
        CHECK_EQ_INT(n, 0);
        for (size_t i = 0; i < pl; i++) CHECK_EQ_INT(out[i], 0);
    }
}

static void test_facade_aes(void)
{
    check_aes(HSM_SYM_CBC, "2b7e151628aed2a6abf7158809cf4f3c", "000102030405060708090a0b0c0d0e0f", NULL, 0, sp38a_pt,
              "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7");
    check_aes(HSM_SYM_CFB, "2b7e151628aed2a6abf7158809cf4f3c", "000102030405060708090a0b0c0d0e0f", NULL, 0, sp38a_pt,
              "3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b 26751f67a3cbb140b1808cf187a4f4df c04b05357c5d1c0eeac4c66f9ff7f2e6");
    check_aes(HSM_SYM_OFB, "2b7e151628aed2a6abf7158809cf4f3c", "000102030405060708090a0b0c0d0e0f", NULL, 0, sp38a_pt,
              "3b3fd92eb72dad20333449f8e83cfb4a 7789508d16918f03f53c52dac54ed825 9740051e9c5fecf64344f7a82260edcc 304c6528f659c77866a510d9c1d6ae5e");
    check_aes(HSM_SYM_CTR, "2b7e151628aed2a6abf7158809cf4f3c", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", NULL, 0, sp38a_pt,
              "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff 5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee");
    check_aes(HSM_SYM_ECB, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", NULL, NULL, 0,
              "6bc1bee22e409f96e93d7e117393172a", "f3eed1bdb5d2a03c064b5a7e3db181f8");
    check_aes(HSM_SYM_GCM, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
              "feedfacedeadbeeffeedfacedeadbeefabaddad2", 0,
              "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
              "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
              "5bc94fbc3221a5db94fae95ae7121a47");
    check_aes(HSM_SYM_CCM, "404142434445464748494a4b4c4d4e4f", "1011121314151617", "000102030405060708090a0b0c0d0e0f", 6,
              "202122232425262728292a2b2c2d2e2f", "d2a1f0e051ea5f62081a7792073d593d 1fc64fbfaccd");
    check_aes(HSM_SYM_XTS, "1111111111111111111111111111111122222222222222222222222222222222",
              "33333333330000000000000000000000", NULL, 0,
              "4444444444444444444444444444444444444444444444444444444444444444",
              "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0");

    /* Length rules. */
    uint8_t k[64] = {0}, in[64] = {0}, out[128];
    size_t n;
    hsm_sym_params none = {0}, iv15 = {in, 15, NULL, 0, 0}, n6 = {in, 6, NULL, 0, 0}, n12 = {in, 12, NULL, 0, 0};
    hsm_sym_params gcm_tag3 = {in, 12, NULL, 0, 3}, ccm_tag5 = {in, 12, NULL, 0, 5};
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_GCM, true, k, 16, &none, in, 16, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_CCM, true, k, 16, &n6, in, 16, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_GCM, true, k, 16, &gcm_tag3, in, 16, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_CCM, true, k, 16, &ccm_tag5, in, 16, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_GCM, false, k, 16, &n12, in, 15, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_CBC, true, k, 16, &iv15, in, 16, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_CBC, true, k, 16, &none, in, 17, out, sizeof(out), &n), HSM_ERR_EXEC);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_ECB, true, k, 16, &none, in, 32, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_XTS, true, k, 48, &none, in, 32, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_XTS, true, k, 32, &none, in, 15, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_CTR, true, k, 20, &none, in, 16, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_aes(HSM_SYM_GCM, true, k, 16, &n12, in, 64, out, 79, &n), HSM_ERR_WRONG_LENGTH);
}

static void test_facade_chachapoly(void)
{
    static const char *pt =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    uint8_t key[32], nonce[12], aad[12], want[256], out[256], back[256];
    unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key);
    unhex("070000004041424344454647", nonce);
    unhex("50515253c0c1c2c3c4c5c6c7", aad);
    size_t wl = unhex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
                      "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                      "3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691", want);
    size_t n, pl = strlen(pt);
    CHECK_EQ_INT(hsm_sym_chachapoly(true, key, nonce, aad, 12, (const uint8_t *)pt, pl, out, sizeof(out), &n), HSM_OK);
    CHECK(n == wl && memcmp(out, want, wl) == 0);
    CHECK_EQ_INT(hsm_sym_chachapoly(false, key, nonce, aad, 12, want, wl, back, sizeof(back), &n), HSM_OK);
    CHECK(n == pl && memcmp(back, pt, pl) == 0);
    want[0] ^= 1;
    CHECK_EQ_INT(hsm_sym_chachapoly(false, key, nonce, aad, 12, want, wl, back, sizeof(back), &n), HSM_ERR_EXEC);
    CHECK(n == 0 && back[0] == 0 && back[pl - 1] == 0);
    CHECK_EQ_INT(hsm_sym_chachapoly(false, key, nonce, aad, 12, want, 15, back, sizeof(back), &n), HSM_ERR_WRONG_LENGTH);
}

static void test_facade_macs_kdfs(void)
{
    uint8_t k[64], m[128], want[256], out[256];
    size_t kl, ml, wl, n;
    /* SP 800-38B D.1: empty and 64-byte messages. */
    kl = unhex("2b7e151628aed2a6abf7158809cf4f3c", k);
    ml = unhex(sp38a_pt, m);
    CHECK_EQ_INT(hsm_sym_cmac(k, kl, NULL, 0, out), HSM_OK);
    unhex("bb1d6929e95937287fa37d129b756746", want);
    CHECK_MEM(out, want, 16);
    CHECK_EQ_INT(hsm_sym_cmac(k, kl, m, ml, out), HSM_OK);
    unhex("51f0bebf7e3b9d92fc49741779363cfe", want);
    CHECK_MEM(out, want, 16);
    CHECK_EQ_INT(hsm_sym_cmac(k, 64, m, ml, out), HSM_ERR_WRONG_LENGTH);
    /* RFC 4231 test case 2 (HMAC-SHA-256, key "Jefe"). */
    wl = unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
    CHECK_EQ_INT(hsm_sym_hmac(MBEDTLS_MD_SHA256, (const uint8_t *)"Jefe", 4,
                              (const uint8_t *)"what do ya want for nothing?", 28, out, sizeof(out), &n), HSM_OK);
    CHECK(n == wl && memcmp(out, want, wl) == 0);
    CHECK_EQ_INT(hsm_sym_hmac(MBEDTLS_MD_SHA256, k, 4, m, 1, out, 31, &n), HSM_ERR_WRONG_LENGTH);
    /* RFC 5869 A.1. */
    uint8_t salt[13], info[16];
    memset(k, 0x0b, 22);
    unhex("000102030405060708090a0b0c", salt);
    unhex("f0f1f2f3f4f5f6f7f8f9", info);
    wl = unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", want);
    CHECK_EQ_INT(hsm_sym_hkdf(MBEDTLS_MD_SHA256, salt, 13, k, 22, info, 10, out, wl), HSM_OK);
    CHECK_MEM(out, want, wl);
    CHECK_EQ_INT(hsm_sym_hkdf(MBEDTLS_MD_SHA256, salt, 13, k, 22, info, 10, out, 0), HSM_ERR_WRONG_LENGTH);
    /* RFC 6070 test case 2. */
    wl = unhex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957", want);
    CHECK_EQ_INT(hsm_sym_pbkdf2(MBEDTLS_MD_SHA1, (const uint8_t *)"password", 8, (const uint8_t *)"salt", 4, 2,
                                out, wl), HSM_OK);
    CHECK_MEM(out, want, wl);
    CHECK_EQ_INT(hsm_sym_pbkdf2(MBEDTLS_MD_SHA1, k, 8, k, 4, 0, out, wl), HSM_ERR_WRONG_LENGTH);
    /* NIST CAVS ansx963_2001, SHA-256, shared info of 16 bytes, 128 bytes out. */
    kl = unhex("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d", k);
    size_t il = unhex("75eef81aa3041e33b80971203d2c0c52", info);
    wl = unhex("c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e52a13d9c7c6fc878c50c5ea0bc7b00e0"
               "da2447cfd874f6cf92f30d0097111485500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd4962"
               "69142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21", want);
    CHECK_EQ_INT(hsm_sym_x963(MBEDTLS_MD_SHA256, k, kl, info, il, out, wl), HSM_OK);
    CHECK_MEM(out, want, wl);

    /* PBES2: PBKDF2 (salt AA, 100 iterations) + AES-256-CBC, IV 16 zero bytes. The iteration
     * cap holds (the same parameters pass under a higher cap); a round trip restores the data;
     * a wrong password fails the padding check (or yields other bytes). */
    uint8_t params[128];
    const char *scheme = "301D 0609 60864801650304012A 0410 00000000000000000000000000000000";
    char buf[256];
    /* An unknown PRF. */
    snprintf(buf, sizeof(buf), "301D 0609 2A864886F70D01050C 3010 0401AA 020164 3008 0606 2A864886F70D %s", scheme);
    size_t pl = unhex(buf, params);
    CHECK_EQ_INT(hsm_sym_pbes2(true, params, pl, 1000, k, 8, m, 20, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    /* 100 iterations, default PRF (HMAC-SHA1). */
    snprintf(buf, sizeof(buf), "3013 0609 2A864886F70D01050C 3006 0401AA 020164 %s", scheme);
    pl = unhex(buf, params);
    CHECK_EQ_INT(hsm_sym_pbes2(true, params, pl, 99, k, 8, m, 20, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_sym_pbes2(true, params, pl, 1000, k, 8, m, 20, out, sizeof(out), &n), HSM_OK);
    CHECK_EQ_INT(n, 32);
    uint8_t back[64];
    size_t bn;
    CHECK_EQ_INT(hsm_sym_pbes2(false, params, pl, 1000, k, 8, out, n, back, sizeof(back), &bn), HSM_OK);
    CHECK(bn == 20 && memcmp(back, m, 20) == 0);
    k[0] ^= 1;
    int rc = hsm_sym_pbes2(false, params, pl, 1000, k, 8, out, n, back, sizeof(back), &bn);
    CHECK(rc == HSM_ERR_WRONG_LENGTH || bn != 20 || memcmp(back, m, 20) != 0);
    CHECK_EQ_INT(hsm_sym_pbes2(true, NULL, 0, 1000, k, 8, m, 20, out, sizeof(out), &n), HSM_ERR_WRONG_LENGTH);
}

/* ---- through the card ------------------------------------------------------------------- */

static uint16_t cipher(uint8_t id, uint8_t p2, const uint8_t *data, size_t n, size_t ne)
{
    return kt_ext(0x80, 0x78, id, p2, data, n ? n : 0, ne);
}

/* 80 78 with no data: case 2E. */
static uint16_t cipher_empty(uint8_t id, uint8_t p2, size_t ne)
{
    const uint8_t cmd[] = {0x80, 0x78, id, p2, 0x00, (uint8_t)(ne >> 8), (uint8_t)ne};
    return kt_tx(cmd, sizeof(cmd));
}

/* The secret of key id read back through production code (C0 03, C1 length, 81 secret). */
static size_t record_secret(uint8_t id, uint8_t *out)
{
    static uint8_t rec[4096];
    size_t n = kt_expose_record(id, rec, sizeof(rec));
    hsm_tlv t, sz, s;
    if (n == 0 || hsm_tlv_find(rec, n, 0xC0, &t) != 1 || t.len != 1 || t.value[0] != 0x03 ||
        hsm_tlv_find(rec, n, 0xC1, &sz) != 1 || sz.len != 2 || hsm_tlv_find(rec, n, 0x81, &s) != 1 ||
        s.len != (size_t)((sz.value[0] << 8) | sz.value[1])) {
        CHECK(false);
        return 0;
    }
    memcpy(out, s.value, s.len);
    return s.len;
}

static void test_generate(void)
{
    static const struct { uint8_t p2; size_t len; } sizes[] = {{0xB0, 16}, {0xB1, 24}, {0xB2, 32}, {0xB3, 64}, {0x00, 32}};
    static uint8_t img[1u << 21];
    uint8_t secret[64];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t id = (uint8_t)(0x10 + i);
        CHECK_EQ_INT(KT_TX(0x00, 0x48, id, sizes[i].p2), 0x9000);
        CHECK_EQ_INT(kt_data_len(), 0);
        size_t n = record_secret(id, secret);
        CHECK_EQ_INT(n, sizes[i].len);
        /* The secret is nowhere in the flash in clear. */
        size_t fl = kt_flash_image(img, sizeof(img));
        CHECK(n > 0 && memmem(img, fl, secret, n) == NULL);
        /* The PRKD C4<id> (spec 1.2): the key id in decimal, the size in bits. */
        CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0xC4, id, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00), 0x9000);
        char dec[4];
        int dl = snprintf(dec, sizeof(dec), "%u", (unsigned)id);
        uint8_t want[40];
        size_t wl = 0;
        const uint8_t head[] = {0xA8, (uint8_t)(0x1D + dl), 0x30, 0x02, 0x0C, 0x00, 0x30, (uint8_t)(0x07 + dl), 0x04, (uint8_t)dl};
        memcpy(want, head, sizeof(head)), wl = sizeof(head);
        memcpy(want + wl, dec, (size_t)dl), wl += (size_t)dl;
        const uint8_t tail[] = {0x03, 0x03, 0x07, 0xC0, 0x10, 0xA0, 0x06, 0x30, 0x04, 0x02, 0x02,
                                (uint8_t)((sizes[i].len * 8) >> 8), (uint8_t)(sizes[i].len * 8),
                                0xA1, 0x06, 0x30, 0x04, 0x30, 0x02, 0x04, 0x00};
        memcpy(want + wl, tail, sizeof(tail)), wl += sizeof(tail);
        CHECK(kt_data_len() == wl && memcmp(kt_resp, want, wl) == 0);
    }
    /* Two generations give different keys. */
    uint8_t a[64], b[64];
    record_secret(0x12, a);
    CHECK_EQ_INT(KT_TX(0x00, 0x48, 0x12, 0xB2), 0x9000);
    record_secret(0x12, b);
    CHECK(memcmp(a, b, 32) != 0);
    CHECK_EQ_INT(KT_TX(0x00, 0x48, 0x00, 0xB2), 0x6A86);              /* the device key */
    CHECK_EQ_INT(KT_TX(0x00, 0x48, 0x13, 0xB2, 0x03, 0x90, 0x00, 0x01), 0x6A80); /* bad TLV */
}

static void test_cipher_against_mbedtls(void)
{
    uint8_t key[64], in[96], iv0[16] = {0}, want[96], mac[16];
    for (size_t i = 0; i < sizeof(in); i++) in[i] = (uint8_t)(i * 7);
    for (uint8_t id = 0x10; id <= 0x12; id++) {
        size_t kl = record_secret(id, key);
        mbedtls_aes_context aes;
        mbedtls_aes_init(&aes);
        memset(iv0, 0, sizeof(iv0)); /* CBC updates the IV in place */
        CHECK_EQ_INT(mbedtls_aes_setkey_enc(&aes, key, (unsigned)kl * 8), 0);
        CHECK_EQ_INT(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, sizeof(in), iv0, in, want), 0);
        mbedtls_aes_free(&aes);
        CHECK_EQ_INT(cipher(id, 0x10, in, sizeof(in), sizeof(in)), 0x9000);
        CHECK(kt_data_len() == sizeof(in) && memcmp(kt_resp, want, sizeof(in)) == 0);
        CHECK_EQ_INT(cipher(id, 0x11, want, sizeof(want), sizeof(want)), 0x9000);
        CHECK(kt_data_len() == sizeof(in) && memcmp(kt_resp, in, sizeof(in)) == 0);
        const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_values(MBEDTLS_CIPHER_ID_AES, (int)kl * 8, MBEDTLS_MODE_ECB);
        CHECK_EQ_INT(mbedtls_cipher_cmac(ci, key, kl * 8, in, 33, mac), 0);
        CHECK_EQ_INT(cipher(id, 0x18, in, 33, 16), 0x9000);
        CHECK(kt_data_len() == 16 && memcmp(kt_resp, mac, 16) == 0);
    }
    /* CMAC of an empty message (case 2E). */
    CHECK_EQ_INT(cipher_empty(0x10, 0x18, 16), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 16);
}

static void test_cipher_errors(void)
{
    uint8_t d[32] = {0};
    const uint8_t gcm_no_iv[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x06, 0x81, 0x01, 0x00};
    const uint8_t unknown_oid[] = {0x06, 0x03, 0x2A, 0x03, 0x04, 0x81, 0x01, 0x00};
    const uint8_t hd_oid[] = {0x06, 0x0B, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xA8, 0x78, 0x05, 0x8D, 0x6B};
    /* GCM with tag mismatch: 6400, and no data. */
    uint8_t gcm[64] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x06, 0x81, 0x11};
    size_t gn = 13 + 17;
    gcm[gn++] = 0x82, gcm[gn++] = 0x0C;
    gn += 12;
    CHECK_EQ_INT(cipher(0x10, 0x52, gcm, gn, 256), 0x6400);
    CHECK_EQ_INT(kt_data_len(), 0);
    CHECK_EQ_INT(cipher(0x10, 0x10, d, 15, 256), 0x6700);
    CHECK_EQ_INT(cipher(0x13, 0x10, d, 16, 256), 0x6400);  /* 64-byte key, core CBC */
    CHECK_EQ_INT(cipher(0x13, 0x18, d, 16, 256), 0x6700);  /* 64-byte key, CMAC */
    CHECK_EQ_INT(cipher(0x10, 0x51, gcm_no_iv, sizeof(gcm_no_iv), 256), 0x6700);
    CHECK_EQ_INT(cipher(0x10, 0x51, unknown_oid, sizeof(unknown_oid), 256), 0x6700);
    CHECK_EQ_INT(cipher(0x10, 0x51, hd_oid, sizeof(hd_oid), 256), 0x6A80);
    CHECK_EQ_INT(cipher(0x10, 0x51, (const uint8_t[]){0x81, 0x00}, 2, 256), 0x6700);
    CHECK_EQ_INT(cipher(0x10, 0x77, d, 16, 256), 0x6B00);
    CHECK_EQ_INT(cipher(0x55, 0x18, d, 16, 256), 0x6A82);
    CHECK_EQ_INT(cipher(0x00, 0x18, d, 16, 256), 0x6A86);  /* the device key is no AES key */
    CHECK_EQ_INT(cipher_empty(0x10, 0x99, 256), 0x6700);
    /* An EC key for CIPHER, an AES key for SIGN and DECIPHER. */
    const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};
    CHECK_EQ_INT(kt_generate(0x20, &p256, NULL), 0x9000);
    CHECK_EQ_INT(cipher(0x20, 0x18, d, 16, 256), 0x6A81);
    CHECK_EQ_INT(kt_sign(0x10, 0x70, d, 32), 0x6A81);
    CHECK_EQ_INT(kt_decipher(0x10, 0x80, d, 32), 0x6A81);
}

static void test_counter_and_list(void)
{
    uint8_t d[16] = {0};
    /* Counter 1, list 18 only. */
    CHECK_EQ_INT(KT_TX(0x00, 0x48, 0x30, 0xB0, 0x09, 0x90, 0x04, 0x00, 0x00, 0x00, 0x01, 0x91, 0x01, 0x18), 0x9000);
    CHECK_EQ_INT(kt_record_counter(0x30), 1);
    CHECK_EQ_INT(cipher(0x30, 0x10, d, 16, 16), 0x6A81); /* not in the list: no use spent */
    CHECK_EQ_INT(kt_record_counter(0x30), 1);
    CHECK_EQ_INT(cipher(0x30, 0x18, d, 16, 16), 0x9000);
    CHECK_EQ_INT(kt_record_counter(0x30), 0);
    CHECK_EQ_INT(cipher(0x30, 0x18, d, 16, 16), 0x6984);
    CHECK_EQ_INT(kt_data_len(), 0);
    /* A failing operation gives its use back. */
    CHECK_EQ_INT(KT_TX(0x00, 0x48, 0x31, 0xB0, 0x06, 0x90, 0x04, 0x00, 0x00, 0x00, 0x05), 0x9000);
    CHECK_EQ_INT(cipher(0x31, 0x10, d, 15, 16), 0x6700);
    CHECK_EQ_INT(kt_record_counter(0x31), 5);
}

static void test_derive_ec(void)
{
    const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};
    static uint8_t rec[4096];
    uint8_t data[33];
    data[0] = 0x98;
    for (size_t i = 1; i < sizeof(data); i++) data[i] = (uint8_t)(0xA0 + i);
    CHECK_EQ_INT(kt_generate(0x40, &p256, NULL), 0x9000);
    CHECK_EQ_INT(kt_ext(0x80, 0x76, 0x40, 0x41, data, sizeof(data), 0), 0x9000);
    /* d' = (d + a) mod p, computed here with mbedTLS bignums on the two records. */
    mbedtls_mpi d, a, dn, p;
    mbedtls_ecp_group g;
    mbedtls_mpi_init(&d), mbedtls_mpi_init(&a), mbedtls_mpi_init(&dn), mbedtls_mpi_init(&p);
    mbedtls_ecp_group_init(&g);
    CHECK_EQ_INT(mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_SECP256R1), 0);
    hsm_tlv t;
    size_t n = kt_expose_record(0x40, rec, sizeof(rec));
    CHECK(n > 0 && hsm_tlv_find(rec, n, 0x81, &t) == 1 && mbedtls_mpi_read_binary(&d, t.value, t.len) == 0);
    n = kt_expose_record(0x41, rec, sizeof(rec));
    CHECK(n > 0 && hsm_tlv_find(rec, n, 0x81, &t) == 1 && mbedtls_mpi_read_binary(&dn, t.value, t.len) == 0);
    CHECK_EQ_INT(mbedtls_mpi_read_binary(&a, data + 1, sizeof(data) - 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_add_mpi(&a, &a, &d), 0);
    CHECK_EQ_INT(mbedtls_mpi_mod_mpi(&a, &a, &g.P), 0);
    CHECK_EQ_INT(mbedtls_mpi_cmp_mpi(&a, &dn), 0);
    /* Errors. */
    CHECK_EQ_INT(kt_ext(0x80, 0x76, 0x40, 0x42, (const uint8_t[]){0x99, 0x01}, 2, 0), 0x6700);
    CHECK_EQ_INT(kt_ext(0x80, 0x76, 0x40, 0x00, data, sizeof(data), 0), 0x6A86);
    CHECK_EQ_INT(kt_ext(0x80, 0x76, 0x4F, 0x42, data, sizeof(data), 0), 0x6A82);
    CHECK_EQ_INT(kt_ext(0x80, 0x76, 0x10, 0x42, data, sizeof(data), 0), 0x6A81);
    mbedtls_mpi_free(&d), mbedtls_mpi_free(&a), mbedtls_mpi_free(&dn), mbedtls_mpi_free(&p);
    mbedtls_ecp_group_free(&g);
}

int main(void)
{
    test_facade_aes();
    test_facade_chachapoly();
    test_facade_macs_kdfs();
    kt_power_up();
    test_generate();
    test_cipher_against_mbedtls();
    test_cipher_errors();
    test_counter_and_list();
    test_derive_ec();
    return CHECK_DONE();
}
