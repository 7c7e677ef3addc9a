/* test_dkek.c — DKEK shares, key domains, WRAP and UNWRAP through the card's APDU entry point
 * (core spec 2.10, 2.14, 2.15, 4.1, 4.4; extensions spec 4.1, 4.2): share import and status,
 * sealing of a DKEK completed without a PIN at the next VERIFY, blobs checked byte by byte
 * with Kenc/Kmac computed here independently (SHA-256 and mbedTLS CMAC directly), unwrap into
 * another key number and onto a second device with the same shares, signatures of unwrapped
 * keys verified with the original public keys, the 2F10 transfer file, key domains, every
 * refusal, and a scan of the raw flash for DKEKs, shares, Kenc and Kmac. */
#include "keys_common.h"
#include "mbedtls/aes.h"
#include "mbedtls/cipher.h"
#include "mbedtls/cmac.h"

static uint8_t flash_img[1u << 20];

/* INITIALIZE with 92 shares (< 0: absent) and 97 domains (< 0: absent); logged in after. */
static void init_device(int shares, int domains, bool fresh)
{
    uint8_t cmd[64] = {0x80, 0x50, 0x00, 0x00, 0x00, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03};
    size_t n = 5 + 4 + 8 + 10 + 3;
    if (shares >= 0) cmd[n++] = 0x92, cmd[n++] = 0x01, cmd[n++] = (uint8_t)shares;
    if (domains >= 0) cmd[n++] = 0x97, cmd[n++] = 0x01, cmd[n++] = (uint8_t)domains;
    cmd[4] = (uint8_t)(n - 5);
    if (fresh) {
        ram_port_reset(NULL);
        CHECK_EQ_INT(hsm_card_init(), HSM_OK);
        kt_remount();
    }
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(kt_tx(cmd, n), 0x9000);
}

static uint16_t import_share(uint8_t domain, const uint8_t share[32])
{
    uint8_t cmd[5 + 32 + 1] = {0x80, 0x52, 0x00, domain, 0x20};
    memcpy(cmd + 5, share, 32);
    return kt_tx(cmd, sizeof(cmd));
}

static uint16_t status(uint8_t domain)
{
    return KT_TX(0x80, 0x52, 0x00, domain, 0x00);
}

static void kcv_of(const uint8_t dkek[32], uint8_t kcv[8])
{
    uint8_t h[32];
    mbedtls_sha256(dkek, 32, h, 0);
    memcpy(kcv, h, 8);
}

/* Status answer must be total, missing, kcv (NULL: zeros). */
static void check_status(uint8_t total, uint8_t missing, const uint8_t *kcv)
{
    static const uint8_t zero[8];
    CHECK_EQ_INT(kt_data_len(), 10);
    CHECK_EQ_INT(kt_resp[0], total);
    CHECK_EQ_INT(kt_resp[1], missing);
    CHECK_MEM(kt_resp + 2, kcv ? kcv : zero, 8);
}

static bool flash_has(const uint8_t *img, size_t n, const uint8_t *pat, size_t len)
{
    for (size_t i = 0; i + len <= n; i++) {
        if (img[i] == pat[0] && memcmp(img + i, pat, len) == 0) return true;
    }
    return false;
}

static void derive(const uint8_t dkek[32], uint8_t ctr, uint8_t out[32])
{
    uint8_t b[36];
    memcpy(b, dkek, 32);
    b[32] = 0, b[33] = 0, b[34] = 0, b[35] = ctr;
    mbedtls_sha256(b, sizeof(b), out, 0);
}

/* None of these secrets may be in flash in any form that matches byte for byte. */
static void scan_flash(const uint8_t *const *secrets, size_t count)
{
    size_t n = kt_flash_image(flash_img, sizeof(flash_img));
    for (size_t i = 0; i < count; i++) {
        CHECK(!flash_has(flash_img, n, secrets[i], 32));
        /* half a secret neither (catches a copy split across a record boundary) */
        CHECK(!flash_has(flash_img, n, secrets[i], 16));
        CHECK(!flash_has(flash_img, n, secrets[i] + 16, 16));
    }
}

static void scan_dkek(const uint8_t dkek[32])
{
    uint8_t kenc[32], kmac[32];
    derive(dkek, 1, kenc);
    derive(dkek, 2, kmac);
    const uint8_t *s[] = {dkek, kenc, kmac};
    scan_flash(s, 3);
}

/* ---- shares and status -------------------------------------------------------------------- */

static void test_shares(void)
{
    uint8_t ones[32], zero[32] = {0}, kcv[8];
    memset(ones, 0x01, sizeof(ones));
    kcv_of(zero, kcv);

    /* No 92: total 0, missing 0, zero KCV; imports are refused. */
    init_device(-1, -1, true);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(0, 0, NULL);
    CHECK_EQ_INT(import_share(0, ones), 0x6986);

    /* 92 = 2, the share 01..01 twice: DKEK 0 (extensions spec 4.2 test expectation). */
    init_device(2, -1, false);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(2, 2, NULL);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x1F, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
                       0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
                       0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01),
                 0x6700);
    CHECK_EQ_INT(import_share(0, ones), 0x9000);
    check_status(2, 1, NULL);
    CHECK_EQ_INT(import_share(0, ones), 0x9000);
    check_status(2, 0, kcv);
    CHECK_EQ_INT(import_share(0, ones), 0x6986); /* all imported */
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(2, 0, kcv);
    size_t sz;
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_OK); /* logged in: sealed at once */
    CHECK_EQ_INT(status(16), 0x6B00);
    CHECK_EQ_INT(status(1), 0x6A86);

    /* 92 = 0: a random DKEK at once, complete. */
    init_device(0, -1, false);
    CHECK_EQ_INT(status(0), 0x9000);
    CHECK_EQ_INT(kt_resp[0], 1);
    CHECK_EQ_INT(kt_resp[1], 0);
    CHECK(memcmp(kt_resp + 2, zero, 8) != 0);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_OK);
    CHECK_EQ_INT(import_share(0, ones), 0x6986);

    /* Re-INITIALIZE forgets everything: a partial import does not carry over. */
    init_device(2, -1, false);
    CHECK_EQ_INT(import_share(0, ones), 0x9000);
    init_device(2, -1, false);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(2, 2, NULL);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_ERR_NOT_FOUND);
}

/* Three random shares imported without a PIN: pending in RAM, sealed at VERIFY. */
static void test_no_pin_then_verify(void)
{
    uint8_t sh[3][32], dkek[32] = {0}, kcv[8];
    kt_rng(NULL, (uint8_t *)sh, sizeof(sh));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 32; j++) dkek[j] ^= sh[i][j];
    kcv_of(dkek, kcv);

    init_device(3, -1, true);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000); /* logout */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(import_share(0, sh[i]), 0x9000);
        check_status(3, (uint8_t)(2 - i), i == 2 ? kcv : NULL);
    }
    /* Not sealed yet: nothing DKEK-shaped in flash, no record. This is also the power-loss
     * state: the only copy is dkek.c's RAM, lost with it, and the status would report the
     * three shares missing again. */
    size_t sz;
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_ERR_NOT_FOUND);
    const uint8_t *s[] = {sh[0], sh[1], sh[2], dkek};
    scan_flash(s, 4);
    scan_dkek(dkek);
    /* A card reset (reader power-off) keeps the RAM accumulator. */
    hsm_card_reset();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(3, 0, kcv);
    /* WRAP needs the user PIN; a failed VERIFY does not seal. */
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x81, 0x06, '0', '0', '0', '0', '0', '0'), 0x63C2);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x81, 0x06, KT_PIN), 0x9000);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_OK);
    CHECK_EQ_INT(sz, 8 + 32 + 29);
    uint8_t rec[8];
    CHECK_EQ_INT(hsm_store_read(HSM_ID_DKEK_FIRST, 0, rec, 8, &sz), HSM_OK);
    CHECK_MEM(rec, kcv, 8);
    scan_flash(s, 4);
    scan_dkek(dkek);
    /* After a remount (the store as after power loss) the sealed DKEK is still complete. */
    kt_remount();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(3, 0, kcv);
}

/* A power loss (hsm_card_power_off) before any PIN session sealed the shares loses them: the
 * status reports them all missing again and nothing of them is in flash; the card works. */
static void test_power_loss_before_seal(void)
{
    uint8_t sh[2][32];
    kt_rng(NULL, (uint8_t *)sh, sizeof(sh));
    init_device(3, -1, true);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000); /* logout */
    CHECK_EQ_INT(import_share(0, sh[0]), 0x9000);
    CHECK_EQ_INT(import_share(0, sh[1]), 0x9000);
    check_status(3, 1, NULL);
    hsm_card_power_off();
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(3, 3, NULL);
    const uint8_t *s[] = {sh[0], sh[1]};
    scan_flash(s, 2);
    kt_login();
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(3, 3, NULL);
}

/* ---- blobs ---------------------------------------------------------------------------------- */

typedef struct {
    uint8_t b[2048];
    size_t n;
} blob_t;

static uint16_t wrap(uint8_t id, blob_t *out)
{
    uint16_t sw = KT_TX(0x80, 0x72, id, 0x92, 0x00, 0x00, 0x00);
    out->n = kt_data_len();
    if (out->n <= sizeof(out->b)) memcpy(out->b, kt_resp, out->n);
    return sw;
}

/* OpenSC 0.23: case 3E with the blob as data. */
static uint16_t unwrap_data(uint8_t id, const uint8_t *b, size_t n)
{
    static uint8_t cmd[4096];
    size_t k = 0;
    cmd[k++] = 0x80, cmd[k++] = 0x74, cmd[k++] = id, cmd[k++] = 0x93;
    cmd[k++] = 0x00, cmd[k++] = (uint8_t)(n >> 8), cmd[k++] = (uint8_t)n;
    memcpy(cmd + k, b, n), k += n;
    return kt_tx(cmd, k);
}

/* OpenSC >= 0.24: UPDATE BINARY 2F10 in chunks (54 offset, 53 data), then 80 74 id 93. */
static uint16_t unwrap_ef(uint8_t id, const uint8_t *b, size_t n, size_t chunk)
{
    static uint8_t cmd[4096];
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk, k = 0;
        size_t dl = 4 + 4 + len;
        cmd[k++] = 0x00, cmd[k++] = 0xD7, cmd[k++] = 0x2F, cmd[k++] = 0x10;
        cmd[k++] = 0x00, cmd[k++] = (uint8_t)(dl >> 8), cmd[k++] = (uint8_t)dl;
        cmd[k++] = 0x54, cmd[k++] = 0x02, cmd[k++] = (uint8_t)(off >> 8), cmd[k++] = (uint8_t)off;
        cmd[k++] = 0x53, cmd[k++] = 0x82, cmd[k++] = (uint8_t)(len >> 8), cmd[k++] = (uint8_t)len;
        memcpy(cmd + k, b + off, len), k += len;
        uint16_t sw = kt_tx(cmd, k);
        if (sw != 0x9000) return sw;
    }
    return KT_TX(0x80, 0x74, id, 0x93);
}

static uint16_t delete_key(uint8_t id)
{
    return KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, id);
}

static size_t comp(const uint8_t **p, const uint8_t *end, const uint8_t **v)
{
    if (end - *p < 2) return (size_t)-1;
    size_t l = ((size_t)(*p)[0] << 8) | (*p)[1];
    *p += 2;
    if ((size_t)(end - *p) < l) return (size_t)-1;
    *v = *p;
    *p += l;
    return l;
}

static bool mpi_eq(const uint8_t *v, size_t l, const mbedtls_mpi *x)
{
    mbedtls_mpi y;
    mbedtls_mpi_init(&y);
    bool ok = mbedtls_mpi_read_binary(&y, v, l) == 0 && mbedtls_mpi_cmp_mpi(&y, x) == 0;
    mbedtls_mpi_free(&y);
    return ok;
}

/* Spec 4.4 byte by byte, with Kenc/Kmac computed here from the known DKEK. */
static void check_blob(const blob_t *bl, const uint8_t dkek[32], const kt_type *t, const kt_pub *pub,
                       const uint8_t *algs, size_t nalgs)
{
    static const uint8_t oid_rsa[] = {0x00, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
    static const uint8_t oid_ec[] = {0x00, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
    uint8_t kcv[8], kenc[32], kmac[32], mac[16];
    static uint8_t pt[2048];
    const uint8_t *b = bl->b;
    kcv_of(dkek, kcv);
    derive(dkek, 1, kenc);
    derive(dkek, 2, kmac);
    CHECK(bl->n <= 1500); /* OpenSC's WRAP buffer (spec 2.14) */
    CHECK_MEM(b, kcv, 8);
    CHECK_EQ_INT(b[8], t->kind == KT_RSA ? 0x05 : 0x0C);
    CHECK_MEM(b + 9, t->kind == KT_RSA ? oid_rsa : oid_ec, 12);
    size_t i = 21;
    CHECK_EQ_INT((b[i] << 8) | b[i + 1], nalgs);
    CHECK(nalgs == 0 || memcmp(b + i + 2, algs, nalgs) == 0);
    i += 2 + nalgs;
    CHECK(b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 0 && b[i + 3] == 0);
    i += 4;
    size_t enc = bl->n - i - 16;
    CHECK(enc > 0 && enc % 16 == 0 && enc <= sizeof(pt));
    const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_256_ECB);
    CHECK_EQ_INT(mbedtls_cipher_cmac(ci, kmac, 256, b, bl->n - 16, mac), 0);
    CHECK_MEM(mac, b + bl->n - 16, 16);
    mbedtls_aes_context aes;
    uint8_t iv[16] = {0};
    mbedtls_aes_init(&aes);
    CHECK_EQ_INT(mbedtls_aes_setkey_dec(&aes, kenc, 256), 0);
    CHECK_EQ_INT(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, enc, iv, b + i, pt), 0);
    mbedtls_aes_free(&aes);
    const uint8_t *p = pt + 8, *end = pt + enc, *v;
    size_t size = ((size_t)p[0] << 8) | p[1], l;
    p += 2;
    if (t->kind == KT_RSA) {
        CHECK_EQ_INT(size, t->bits);
        const uint8_t *d = NULL, *nn = NULL, *e = NULL;
        size_t dl = comp(&p, end, &d), nl = comp(&p, end, &nn), el = comp(&p, end, &e);
        CHECK(dl != (size_t)-1 && dl > 0 && d[0] != 0);
        CHECK(nl == pub->raw_len && memcmp(nn, pub->raw, nl) == 0);
        CHECK(el == 3 && memcmp(e, "\x01\x00\x01", 3) == 0);
    } else {
        kt_domain dm;
        kt_domain_of(t->grp, &dm);
        CHECK_EQ_INT(size, dm.plen * 8);
        l = comp(&p, end, &v);
        CHECK(l == dm.plen && memcmp(v, dm.a, l) == 0);
        l = comp(&p, end, &v);
        CHECK(l == dm.plen && memcmp(v, dm.b, l) == 0);
        l = comp(&p, end, &v);
        CHECK(l == dm.plen && memcmp(v, dm.p, l) == 0);
        l = comp(&p, end, &v);
        CHECK(l != (size_t)-1 && l > 0 && v[0] != 0 && mpi_eq(v, l, &pub->grp.N)); /* minimal */
        l = comp(&p, end, &v);
        CHECK(l == dm.glen && memcmp(v, dm.g, l) == 0);
        l = comp(&p, end, &v);
        CHECK(l != (size_t)-1 && l > 0 && l <= dm.nlen && v[0] != 0);
        l = comp(&p, end, &v);
        CHECK(l == pub->raw_len && memcmp(v, pub->raw, l) == 0);
    }
    /* What follows the last component: nothing, or 80 00.. up to the block boundary. */
    size_t used = (size_t)(p - pt);
    if (used % 16 == 0) {
        CHECK_EQ_INT(used, enc);
    } else {
        CHECK(used < enc && pt[used] == 0x80);
        for (size_t k = used + 1; k < enc; k++) CHECK_EQ_INT(pt[k], 0);
        CHECK_EQ_INT(enc - used, 16 - used % 16);
    }
}

/* Signs with key id and verifies with pub. */
static void check_sign(uint8_t id, const kt_type *t, kt_pub *pub)
{
    static const uint8_t msg[] = "wrapped and unwrapped";
    uint8_t h[32];
    mbedtls_sha256(msg, sizeof(msg), h, 0);
    if (t->kind == KT_RSA) {
        CHECK_EQ_INT(kt_sign(id, 0x33, msg, sizeof(msg)), 0x9000);
        CHECK(kt_v15_ok(pub, MBEDTLS_MD_SHA256, h, 32, kt_resp, kt_data_len()));
    } else {
        CHECK_EQ_INT(kt_sign(id, 0x73, msg, sizeof(msg)), 0x9000);
        CHECK(kt_ecdsa_ok(pub, h, 32, kt_resp, kt_data_len(), true));
    }
}

/* Completes a blob as WRAP makes it (spec 4.4): head (KCV to the 4 zero bytes, hn bytes) then
 * pt (random bytes, size and key, n bytes) padded, encrypted and MACed with keys from dkek. */
static void seal(const uint8_t *head, size_t hn, const uint8_t *pt, size_t n, const uint8_t dkek[32],
                 blob_t *out)
{
    uint8_t kenc[32], kmac[32], iv[16] = {0};
    static uint8_t np[2048];
    derive(dkek, 1, kenc);
    derive(dkek, 2, kmac);
    CHECK(hn + n + 32 <= sizeof(out->b));
    memcpy(np, pt, n);
    np[n++] = 0x80;
    while (n % 16) np[n++] = 0;
    memcpy(out->b, head, hn);
    mbedtls_aes_context aes;
    mbedtls_aes_init(&aes);
    mbedtls_aes_setkey_enc(&aes, kenc, 256);
    mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, n, iv, np, out->b + hn);
    mbedtls_aes_free(&aes);
    const mbedtls_cipher_info_t *ci = mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_256_ECB);
    mbedtls_cipher_cmac(ci, kmac, 256, out->b, hn + n, out->b + hn + n);
    out->n = hn + n + 16;
}

/* Re-encodes blob `in` (EC type 0C, made with dkek) as Pico HSM writes a = -3 curves: a with
 * length 0 (spec 4.4.2); encryption and CMAC redone with the keys computed here. */
static void pico_style(const blob_t *in, const uint8_t dkek[32], blob_t *out)
{
    uint8_t kenc[32], iv[16] = {0};
    static uint8_t pt[2048], np[2048];
    derive(dkek, 1, kenc);
    size_t head = 21 + 2 + 4, enc = in->n - head - 16;
    mbedtls_aes_context aes;
    mbedtls_aes_init(&aes);
    mbedtls_aes_setkey_dec(&aes, kenc, 256);
    mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, enc, iv, in->b + head, pt);
    mbedtls_aes_free(&aes);
    /* 8 random | size | a (skipped) | the rest up to the end of Q */
    const uint8_t *p = pt + 10, *v;
    size_t alen = comp(&p, pt + enc, &v);
    size_t n = 0;
    memcpy(np, pt, 10), n = 10;
    np[n++] = 0, np[n++] = 0;
    const uint8_t *rest = pt + 12 + alen, *q = rest;
    for (int i = 0; i < 6; i++) comp(&q, pt + enc, &v);
    memcpy(np + n, rest, (size_t)(q - rest)), n += (size_t)(q - rest);
    seal(in->b, head, np, n, dkek, out);
}

/* A type-05 RSA blob (d, n, e) under dkek. */
static void rsa_blob(const mbedtls_mpi *d, const mbedtls_mpi *n, const mbedtls_mpi *e, const uint8_t dkek[32],
                     blob_t *out)
{
    static const uint8_t oid_rsa[] = {0x00, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
    uint8_t head[27] = {0}, pt[1100];
    kcv_of(dkek, head);
    head[8] = 0x05;
    memcpy(head + 9, oid_rsa, sizeof(oid_rsa));
    size_t k = 8, bits = mbedtls_mpi_bitlen(n);
    kt_rng(NULL, pt, 8);
    pt[k++] = (uint8_t)(bits >> 8), pt[k++] = (uint8_t)bits;
    const mbedtls_mpi *c[] = {d, n, e};
    for (int i = 0; i < 3; i++) {
        size_t l = mbedtls_mpi_size(c[i]);
        CHECK(k + 2 + l <= sizeof(pt));
        pt[k++] = (uint8_t)(l >> 8), pt[k++] = (uint8_t)l;
        CHECK_EQ_INT(mbedtls_mpi_write_binary(c[i], pt + k, l), 0);
        k += l;
    }
    seal(head, sizeof(head), pt, k, dkek, out);
}

static const kt_type types[] = {
    {"RSA-1024", KT_RSA, 1024, MBEDTLS_ECP_DP_NONE},
    {"RSA-2048", KT_RSA, 2048, MBEDTLS_ECP_DP_NONE},
    {"RSA-4096", KT_RSA, 4096, MBEDTLS_ECP_DP_NONE},
    {"P-256", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1},
    {"P-521", KT_EC, 0, MBEDTLS_ECP_DP_SECP521R1},
    {"brainpoolP256r1", KT_EC, 0, MBEDTLS_ECP_DP_BP256R1},
    {"brainpoolP384r1", KT_EC, 0, MBEDTLS_ECP_DP_BP384R1},
    {"secp256k1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256K1},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static blob_t blobs[NTYPES];
static kt_pub pubs[NTYPES];
static uint8_t shareA[32], shareB[32], dkekAB[32];

static void test_wrap_unwrap(void)
{
    kt_rng(NULL, shareA, 32);
    kt_rng(NULL, shareB, 32);
    for (int j = 0; j < 32; j++) dkekAB[j] = shareA[j] ^ shareB[j];
    init_device(2, -1, true);
    CHECK_EQ_INT(import_share(0, shareA), 0x9000);
    CHECK_EQ_INT(import_share(0, shareB), 0x9000);

    for (size_t i = 0; i < NTYPES; i++) {
        const kt_type *t = &types[i];
        double t0 = kt_now();
        CHECK_EQ_INT(kt_generate(1, t, NULL), 0x9000);
        CHECK(kt_check_answer(t, NULL, &pubs[i]));
        CHECK_EQ_INT(wrap(1, &blobs[i]), 0x9000);
        check_blob(&blobs[i], dkekAB, t, &pubs[i], NULL, 0);
        /* every other blob through 2F10, in OpenSC's 1215-byte chunks or smaller */
        if (i % 2 == 0) {
            CHECK_EQ_INT(unwrap_data(2, blobs[i].b, blobs[i].n), 0x9000);
        } else {
            CHECK_EQ_INT(unwrap_ef(2, blobs[i].b, blobs[i].n, i == 1 ? 1215 : 200), 0x9000);
            CHECK_EQ_INT(KT_TX(0x00, 0xA4, 0x00, 0x00, 0x02, 0x2F, 0x10, 0x00), 0x6A82); /* erased */
        }
        check_sign(2, t, &pubs[i]);
        check_sign(1, t, &pubs[i]);
        /* occupied key number */
        CHECK_EQ_INT(unwrap_data(2, blobs[i].b, blobs[i].n), 0x6A89);
        CHECK_EQ_INT(unwrap_data(1, blobs[i].b, blobs[i].n), 0x6A89);
        /* the unwrapped key wraps again to the same public key */
        blob_t again;
        CHECK_EQ_INT(wrap(2, &again), 0x9000);
        check_blob(&again, dkekAB, t, &pubs[i], NULL, 0);
        CHECK_EQ_INT(delete_key(1), 0x9000);
        CHECK_EQ_INT(delete_key(2), 0x9000);
        printf("  %-16s blob %4zu bytes, %.2f s\n", t->name, blobs[i].n, kt_now() - t0);
    }
    /* spec 4.4.2 size for P-256 (full-length components, empty list) */
    CHECK(blobs[3].n == 363 || blobs[3].n == 363 - 16);

    /* A blob as Pico HSM writes it (a of length 0) imports too; so does brainpool's full a. */
    blob_t pico;
    pico_style(&blobs[3], dkekAB, &pico);
    CHECK(pico.n < blobs[3].n);
    CHECK_EQ_INT(unwrap_data(8, pico.b, pico.n), 0x9000);
    check_sign(8, &types[3], &pubs[3]);
    CHECK_EQ_INT(delete_key(8), 0x9000);

    /* Refusals. */
    blob_t *b = &blobs[3];
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x01, 0x92, 0x00, 0x00, 0x00), 0x6A82); /* no key */
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x01, 0x93, 0x00, 0x00, 0x00), 0x6B00);
    CHECK_EQ_INT(KT_TX(0x80, 0x74, 0x01, 0x92), 0x6B00);
    CHECK_EQ_INT(KT_TX(0x80, 0x74, 0x01, 0x93), 0x6A82); /* no 2F10 */
    uint8_t bad[2048];
    memcpy(bad, b->b, b->n);
    bad[b->n - 1] ^= 1; /* CMAC */
    CHECK_EQ_INT(unwrap_data(3, bad, b->n), 0x6A80);
    memcpy(bad, b->b, b->n);
    bad[40] ^= 1; /* ciphertext */
    CHECK_EQ_INT(unwrap_data(3, bad, b->n), 0x6A80);
    memcpy(bad, b->b, b->n);
    bad[0] ^= 1; /* KCV */
    CHECK_EQ_INT(unwrap_data(3, bad, b->n), 0x6A80);
    CHECK_EQ_INT(unwrap_data(3, b->b, 40), 0x6A80); /* truncated */
    CHECK_EQ_INT(unwrap_data(0, b->b, b->n), 0x6A86); /* the device key */
    size_t sz;
    CHECK_EQ_INT(hsm_store_size(0xCC03, &sz), HSM_ERR_NOT_FOUND);
    /* 2F10 is write-only and not listed. */
    CHECK_EQ_INT(KT_TX(0x00, 0xD7, 0x2F, 0x10, 0x08, 0x54, 0x02, 0x00, 0x00, 0x53, 0x02, 0xAA, 0xBB), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0x2F, 0x10, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x58, 0x00, 0x00, 0x00), 0x9000);
    for (size_t k = 0; k + 1 < kt_data_len(); k += 2) CHECK(!(kt_resp[k] == 0x2F && kt_resp[k + 1] == 0x10));
    CHECK_EQ_INT(KT_TX(0x80, 0x74, 0x03, 0x93), 0x6A80); /* garbage in 2F10 */

    /* Algorithm lists: without 92 -> 6A81; with 92 -> carried into the blob and the new key. */
    const uint8_t no92[] = {0x91, 0x01, 0x73}, with92[] = {0x91, 0x02, 0x73, 0x92};
    kt_opts o = {.extra = no92, .extra_len = sizeof(no92)};
    CHECK_EQ_INT(kt_generate(4, &types[3], &o), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x04, 0x92, 0x00, 0x00, 0x00), 0x6A81);
    o.extra = with92, o.extra_len = sizeof(with92);
    kt_pub pk;
    CHECK_EQ_INT(kt_generate(5, &types[3], &o), 0x9000);
    CHECK(kt_check_answer(&types[3], &o, &pk));
    blob_t wl;
    CHECK_EQ_INT(wrap(5, &wl), 0x9000);
    check_blob(&wl, dkekAB, &types[3], &pk, with92 + 2, 2);
    CHECK_EQ_INT(unwrap_data(6, wl.b, wl.n), 0x9000);
    static uint8_t rec[4096];
    size_t rn = kt_expose_record(6, rec, sizeof(rec));
    hsm_tlv tl;
    CHECK(rn > 0 && hsm_tlv_find(rec, rn, 0xC4, &tl) == 1 && tl.len == 2 && memcmp(tl.value, with92 + 2, 2) == 0);
    CHECK_EQ_INT(kt_sign(6, 0x72, (const uint8_t *)"x", 1), 0x6A81); /* list enforced */
    check_sign(6, &types[3], &pk);
    kt_pub_free(&pk);

    /* Without the user PIN. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x05, 0x92, 0x00, 0x00, 0x00), 0x6982);
    CHECK_EQ_INT(unwrap_data(7, b->b, b->n), 0x6982);
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x81, 0x06, KT_PIN), 0x9000);

    scan_dkek(dkekAB);
    const uint8_t *s[] = {shareA, shareB};
    scan_flash(s, 2);
}

/* Type-05 RSA blobs WRAP did not make. A key of mbedTLS's generator with d = e^-1 mod
 * (p-1)(q-1), as older tools write it, imports, signs and wraps back to its modulus; refused
 * with 6A80 and nothing stored: d that does not belong to n, and n prime with a matching d
 * (no base can split it; rsa_factor.h refuses it after one); a 768-bit modulus with 6A81
 * (sizes are checked first). The factoring itself: test_rsa_factor.c. */
static void test_unwrap_rsa_forms(void)
{
    init_device(2, -1, true);
    CHECK_EQ_INT(import_share(0, shareA), 0x9000);
    CHECK_EQ_INT(import_share(0, shareB), 0x9000);
    mbedtls_rsa_context r;
    mbedtls_rsa_init(&r);
    CHECK_EQ_INT(mbedtls_rsa_gen_key(&r, kt_rng, NULL, 2048, 65537), 0);
    mbedtls_mpi N, P, Q, D, E, t, u;
    mbedtls_mpi *all[] = {&N, &P, &Q, &D, &E, &t, &u};
    for (size_t i = 0; i < 7; i++) mbedtls_mpi_init(all[i]);
    CHECK_EQ_INT(mbedtls_rsa_export(&r, &N, &P, &Q, NULL, &E), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &P, 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&u, &Q, 1), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&t, &t, &u), 0);
    CHECK_EQ_INT(mbedtls_mpi_inv_mod(&D, &E, &t), 0);
    blob_t b, again;
    rsa_blob(&D, &N, &E, dkekAB, &b);
    CHECK_EQ_INT(unwrap_data(1, b.b, b.n), 0x9000);
    kt_pub pub;
    kt_pub_init(&pub);
    pub.kind = KT_RSA;
    pub.len = 256;
    CHECK_EQ_INT(mbedtls_rsa_import(&pub.rsa, &N, NULL, NULL, NULL, &E), 0);
    CHECK_EQ_INT(mbedtls_rsa_complete(&pub.rsa), 0);
    pub.raw_len = 256;
    CHECK_EQ_INT(mbedtls_mpi_write_binary(&N, pub.raw, 256), 0);
    const kt_type rsa2048 = {"RSA-2048", KT_RSA, 2048, MBEDTLS_ECP_DP_NONE};
    check_sign(1, &rsa2048, &pub);
    CHECK_EQ_INT(wrap(1, &again), 0x9000);
    check_blob(&again, dkekAB, &rsa2048, &pub, NULL, 0);

    /* d + 2 */
    CHECK_EQ_INT(mbedtls_mpi_add_int(&t, &D, 2), 0);
    rsa_blob(&t, &N, &E, dkekAB, &b);
    CHECK_EQ_INT(unwrap_data(2, b.b, b.n), 0x6A80);
    /* n prime, d = e^-1 mod n - 1 */
    do {
        CHECK_EQ_INT(mbedtls_mpi_gen_prime(&N, 1024, 0, kt_rng, NULL), 0);
        CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &N, 1), 0);
    } while (mbedtls_mpi_inv_mod(&D, &E, &t) != 0);
    rsa_blob(&D, &N, &E, dkekAB, &b);
    CHECK_EQ_INT(unwrap_data(2, b.b, b.n), 0x6A80);
    /* 768 bits: refused for its size whatever d is */
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&P, 384, 0, kt_rng, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_gen_prime(&Q, 384, 0, kt_rng, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&N, &P, &Q), 0);
    CHECK_EQ_INT(mbedtls_mpi_sub_int(&t, &N, 5), 0);
    rsa_blob(&t, &N, &E, dkekAB, &b);
    CHECK_EQ_INT(unwrap_data(2, b.b, b.n), 0x6A81);
    size_t sz;
    CHECK_EQ_INT(hsm_store_size(0xCC02, &sz), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(delete_key(1), 0x9000);

    kt_pub_free(&pub);
    mbedtls_rsa_free(&r);
    for (size_t i = 0; i < 7; i++) mbedtls_mpi_free(all[i]);
}

/* A second device with the same shares unwraps the first one's blobs; a third with other
 * shares refuses them and stays unchanged; a device without DKEK answers 6A88. */
static void test_second_device(void)
{
    init_device(2, -1, true);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(import_share(0, shareB), 0x9000); /* order does not matter */
    CHECK_EQ_INT(import_share(0, shareA), 0x9000);
    kt_login();
    for (size_t i = 0; i < NTYPES; i++) {
        CHECK_EQ_INT(unwrap_data((uint8_t)(0x10 + i), blobs[i].b, blobs[i].n), 0x9000);
        check_sign((uint8_t)(0x10 + i), &types[i], &pubs[i]);
    }

    uint8_t other[32];
    kt_rng(NULL, other, 32);
    init_device(2, -1, true);
    CHECK_EQ_INT(import_share(0, shareA), 0x9000);
    CHECK_EQ_INT(import_share(0, other), 0x9000);
    CHECK_EQ_INT(unwrap_data(0x10, blobs[0].b, blobs[0].n), 0x6A80);
    CHECK_EQ_INT(unwrap_ef(0x10, blobs[3].b, blobs[3].n, 1215), 0x6A80);
    size_t sz;
    CHECK_EQ_INT(hsm_store_size(0xCC10, &sz), HSM_ERR_NOT_FOUND);

    init_device(-1, -1, true);
    CHECK_EQ_INT(unwrap_data(0x10, blobs[3].b, blobs[3].n), 0x6A88);
    CHECK_EQ_INT(kt_generate(1, &types[3], NULL), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x01, 0x92, 0x00, 0x00, 0x00), 0x6A88);
    /* incomplete DKEK */
    init_device(2, -1, false);
    CHECK_EQ_INT(import_share(0, shareA), 0x9000);
    CHECK_EQ_INT(kt_generate(1, &types[3], NULL), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x01, 0x92, 0x00, 0x00, 0x00), 0x6A88);
    CHECK_EQ_INT(unwrap_data(0x10, blobs[3].b, blobs[3].n), 0x6A88);
    for (size_t i = 0; i < NTYPES; i++) kt_pub_free(&pubs[i]);
}

/* ---- key domains (extensions spec 4.2) -------------------------------------------------- */

static void test_domains(void)
{
    uint8_t ones[32], zero[32] = {0}, kcv0[8], twos[32], kcv2[8];
    memset(ones, 0x01, 32);
    memset(twos, 0x02, 32);
    kcv_of(zero, kcv0);
    kcv_of(twos, kcv2);
    init_device(-1, 4, true);
    CHECK_EQ_INT(status(0), 0x6A88); /* not created */
    CHECK_EQ_INT(status(3), 0x6A88);
    CHECK_EQ_INT(status(4), 0x6A86); /* beyond the table */
    CHECK_EQ_INT(status(16), 0x6B00);
    CHECK_EQ_INT(import_share(0, ones), 0x6986);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x02, 0x00, 0x01, 0x00), 0x6984); /* XKEK: no membership (test_xkek) */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x05, 0x00, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x01, 0x02, 0x02, 0x00), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x01, 0x01, 0x02, 0x00), 0x9000);
    check_status(2, 2, NULL);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x01, 0x01, 0x02), 0x6A86); /* exists */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x02, 0x01, 0x01, 0x00), 0x9000);
    check_status(1, 1, NULL);
    CHECK_EQ_INT(import_share(1, ones), 0x9000);
    CHECK_EQ_INT(import_share(1, ones), 0x9000);
    check_status(2, 0, kcv0);
    CHECK_EQ_INT(import_share(2, twos), 0x9000);
    check_status(1, 0, kcv2);

    /* A key in domain 1 wraps with domain 1's DKEK; a key of domain 0 (not created) cannot. */
    const uint8_t dom1[] = {0x92, 0x01, 0x01};
    kt_opts o = {.extra = dom1, .extra_len = sizeof(dom1)};
    kt_pub pk;
    CHECK_EQ_INT(kt_generate(1, &types[3], &o), 0x9000);
    CHECK(kt_check_answer(&types[3], &o, &pk));
    blob_t bl;
    CHECK_EQ_INT(wrap(1, &bl), 0x9000);
    check_blob(&bl, zero, &types[3], &pk, NULL, 0);
    CHECK_EQ_INT(kt_generate(2, &types[3], NULL), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x02, 0x92, 0x00, 0x00, 0x00), 0x6A88);
    /* UNWRAP finds the domain by KCV and records it */
    CHECK_EQ_INT(unwrap_data(3, bl.b, bl.n), 0x9000);
    static uint8_t rec[4096];
    size_t rn = kt_expose_record(3, rec, sizeof(rec));
    hsm_tlv tl;
    CHECK(rn > 0 && hsm_tlv_find(rec, rn, 0xC3, &tl) == 1 && tl.len == 1 && tl.value[0] == 1);
    check_sign(3, &types[3], &pk);
    kt_pub_free(&pk);

    /* Mutations need the user PIN. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x03, 0x01, 0x02), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x01, 0x00), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x04, 0x01, 0x00), 0x6982);
    CHECK_EQ_INT(status(1), 0x9000); /* the status needs none */
    kt_login();

    /* Delete: refused while keys reference it; success answers 6A88. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x01, 0x00), 0x6A89);
    CHECK_EQ_INT(delete_key(1), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x01, 0x00), 0x6A89);
    CHECK_EQ_INT(delete_key(3), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x01, 0x00), 0x6A88);
    CHECK_EQ_INT(status(1), 0x6A88);
    size_t sz;
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST + 1, &sz), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x01, 0x00), 0x6A86); /* already gone */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x01, 0x01, 0x01, 0x00), 0x9000); /* re-create: no old DKEK */
    check_status(1, 1, NULL);
    /* Without Le the change is made and nothing answered. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x00, 0x01, 0x01), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 0);
    CHECK_EQ_INT(status(0), 0x9000);
    check_status(1, 1, NULL);

    /* Clear: the DKEK is forgotten, the shares are expected again. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x04, 0x02, 0x00), 0x9000);
    check_status(1, 1, NULL);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST + 2, &sz), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(import_share(2, twos), 0x9000);
    check_status(1, 0, kcv2);
    /* the domain table persists across a remount */
    kt_remount();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(status(2), 0x9000);
    check_status(1, 0, kcv2);
    CHECK_EQ_INT(status(3), 0x6A88);
    scan_dkek(twos);
    scan_dkek(zero);
}

int main(void)
{
    double t0 = kt_now();
    test_shares();
    test_no_pin_then_verify();
    test_power_loss_before_seal();
    test_wrap_unwrap();
    test_unwrap_rsa_forms();
    test_second_device();
    test_domains();
    printf("dkek: %.2f s\n", kt_now() - t0);
    return CHECK_DONE();
}
