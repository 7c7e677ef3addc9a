/* test_trust.c — the device identity through the card (devid.h) and the trust store (MSE SET +
 * PSO VERIFY CERTIFICATE, cmd_pso.c; ext. spec 5.1, 5.3-5.5):
 *   - INITIALIZE creates a sealed device key whose self-signed certificate is in 2F02; key
 *     generation answers carry an outer signature by it and are kept in CE<id>; the key
 *     survives a re-initialisation with the SO-PIN and a remount; the private scalar is not in
 *     the raw flash;
 *   - 2F02 accepts a chain only for this device (its key, its CHR);
 *   - a CA chain (root -> DV -> device) built here with mbedTLS keys is installed, and PSO
 *     verifies certificates under the DV with every error status word of 5.5;
 *   - a CA xx file is trusted only as PSO stored it: one planted, rewritten or deleted and
 *     written back with UPDATE BINARY is not, nor after a re-initialisation; a power cut at
 *     every flash operation of PSO never leaves a trusted file PSO did not finish vouching for.
 * Certificates are signed with cvc.c's signer, verified on the card by cvc.c's verifier; the Go
 * conformance suite cross-checks both against crypto/ecdsa. */
#include "keys_common.h"

#include "hsm/cvc.h"
#include "ids.h"

static const uint8_t eff[6] = {2, 6, 0, 1, 0, 1}; /* 2026-01-01 */
static const uint8_t exp99[6] = {9, 9, 1, 2, 3, 1};
static const uint8_t chat_dv[] = {0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x02,
                                  0x53, 0x05, 0x80, 0x00, 0x00, 0x00, 0x04};

/* 7F21 { 7F4E { 5F29 00, 42 car, 7F49 (pub, with or without domain parameters), 5F20 chr, 7F4C,
 * 5F25, 5F24[, 65 of ext_len bytes] }, 5F37 ECDSA by signer }. */
static size_t cert_ext(const char *car, const char *chr, const mbedtls_ecp_group *grp,
                       const mbedtls_ecp_point *Q, bool params, const uint8_t ef[6], const uint8_t ex[6],
                       const mbedtls_ecp_keypair *signer, size_t ext_len, uint8_t *out, size_t cap)
{
    hsm_tlv_writer w;
    uint8_t sig[HSM_CVC_SIG_MAX];
    size_t sig_len = 0;
    hsm_tlv_writer_init(&w, out, cap);
    size_t m21 = hsm_tlv_begin(&w, 0x7F21);
    size_t start = w.len;
    size_t m4e = hsm_tlv_begin(&w, 0x7F4E);
    hsm_tlv_put(&w, 0x5F29, "\x00", 1);
    hsm_tlv_put(&w, 0x42, car, strlen(car));
    if (params) {
        CHECK_EQ_INT(hsm_cvc_put_ec_pubkey(&w, grp, Q, hsm_cvc_oid_ecdsa_sha256, 10), HSM_OK);
    } else {
        uint8_t pt[133];
        size_t n = 0;
        CHECK_EQ_INT(mbedtls_ecp_point_write_binary(grp, Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, pt, sizeof(pt)), 0);
        size_t m49 = hsm_tlv_begin(&w, 0x7F49);
        hsm_tlv_put(&w, 0x06, hsm_cvc_oid_ecdsa_sha256, 10);
        hsm_tlv_put(&w, 0x86, pt, n);
        hsm_tlv_end(&w, m49);
    }
    hsm_tlv_put(&w, 0x5F20, chr, strlen(chr));
    hsm_tlv_put(&w, 0x7F4C, chat_dv, sizeof(chat_dv));
    hsm_tlv_put(&w, 0x5F25, ef, 6);
    hsm_tlv_put(&w, 0x5F24, ex, 6);
    if (ext_len > 0) {
        static uint8_t ext[2048];
        CHECK(ext_len <= sizeof(ext));
        memset(ext, 0xA5, sizeof(ext));
        hsm_tlv_put(&w, 0x65, ext, ext_len);
    }
    hsm_tlv_end(&w, m4e);
    CHECK(hsm_tlv_writer_ok(&w));
    CHECK_EQ_INT(hsm_cvc_sign_ecdsa_sha256(signer, out + start, w.len - start, sig, sizeof(sig), &sig_len), HSM_OK);
    hsm_tlv_put(&w, 0x5F37, sig, sig_len);
    hsm_tlv_end(&w, m21);
    CHECK(hsm_tlv_writer_ok(&w));
    return w.len;
}

static size_t cert(const char *car, const char *chr, const mbedtls_ecp_group *grp,
                   const mbedtls_ecp_point *Q, bool params, const uint8_t ef[6], const uint8_t ex[6],
                   const mbedtls_ecp_keypair *signer, uint8_t *out, size_t cap)
{
    return cert_ext(car, chr, grp, Q, params, ef, ex, signer, 0, out, cap);
}

/* A certificate of exactly total bytes, padded with a 65 extension (signatures are r||s, so the
 * size of each element is fixed). */
static size_t cert_sized(const char *car, const char *chr, const mbedtls_ecp_keypair *key,
                         const mbedtls_ecp_keypair *signer, size_t total, uint8_t *out, size_t cap)
{
    size_t ext = 300, n = 0;
    for (int round = 0; round < 4 && n != total; round++) {
        n = cert_ext(car, chr, &key->grp, &key->Q, true, eff, exp99, signer, ext, out, cap);
        ext = ext + total - n;
    }
    CHECK_EQ_INT(n, total);
    return n;
}

static void gen(mbedtls_ecp_keypair *k, mbedtls_ecp_group_id id)
{
    mbedtls_ecp_keypair_init(k);
    CHECK_EQ_INT(mbedtls_ecp_gen_key(id, k, kt_rng, NULL), 0);
}

static size_t read_2f02(uint8_t *out, size_t cap)
{
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0x2F, 0x02, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00, 0x00), 0x9000);
    size_t n = kt_data_len();
    CHECK(n <= cap);
    memcpy(out, kt_resp, n <= cap ? n : 0);
    return n;
}

/* UPDATE BINARY of the whole file fid (offset 0). */
static uint16_t put_file(uint16_t fid, const uint8_t *data, size_t n)
{
    static uint8_t b[2048];
    size_t k = 0;
    b[k++] = 0x54, b[k++] = 0x02, b[k++] = 0x00, b[k++] = 0x00;
    b[k++] = 0x53, b[k++] = 0x82, b[k++] = (uint8_t)(n >> 8), b[k++] = (uint8_t)n;
    memcpy(b + k, data, n), k += n;
    return kt_ext(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, b, k, 0);
}

static uint16_t put_2f02(const uint8_t *data, size_t n)
{
    return put_file(0x2F02, data, n);
}

/* MSE SET DST 83 <car>, and PSO VERIFY CERTIFICATE. */
static uint16_t mse_dst(const char *car)
{
    uint8_t cmd[40] = {0x00, 0x22, 0x81, 0xB6, (uint8_t)(strlen(car) + 2), 0x83, (uint8_t)strlen(car)};
    memcpy(cmd + 7, car, strlen(car));
    return kt_tx(cmd, 7 + strlen(car));
}

static uint16_t pso(const uint8_t *c, size_t n)
{
    return kt_ext(0x00, 0x2A, 0x00, 0xBE, c, n, 0);
}

/* Enrols the device (5.3): 2F02 = device cert (CAR ZZPICODV00001, by dv) || DV cert (by root). */
static size_t enrol(const kt_pub *dev, const mbedtls_ecp_keypair *root, const mbedtls_ecp_keypair *dv,
                    uint8_t *chain, size_t cap)
{
    size_t nd = cert("ZZPICODV00001", kt_chr(), &dev->grp, &dev->Q, true, eff, exp99, dv, chain, cap);
    size_t nv = cert("ZZPICOCA00001", "ZZPICODV00001", &dv->grp, &dv->Q, true, eff, exp99, root, chain + nd,
                     cap - nd);
    CHECK_EQ_INT(put_2f02(chain, nd + nv), 0x9000);
    return nd + nv;
}

/* A fresh card enrolled under root -> DV (ZZPICODV00001), and two certificates not stored
 * yet: a = ZZPICOTR00001 issued by the DV, b = ZZPICOTR00002 issued by a. */
typedef struct {
    mbedtls_ecp_keypair root, dv, ka, kb;
    kt_pub dev;
    uint8_t chain[2048], a[1024], b[1024];
    size_t na, nb;
} enrolled;

static void enrolled_up(enrolled *e)
{
    kt_power_up();
    CHECK(kt_device_key(&e->dev));
    gen(&e->root, MBEDTLS_ECP_DP_SECP256R1);
    gen(&e->dv, MBEDTLS_ECP_DP_SECP256R1);
    gen(&e->ka, MBEDTLS_ECP_DP_SECP256R1);
    gen(&e->kb, MBEDTLS_ECP_DP_SECP256R1);
    enrol(&e->dev, &e->root, &e->dv, e->chain, sizeof(e->chain));
    e->na = cert("ZZPICODV00001", "ZZPICOTR00001", &e->ka.grp, &e->ka.Q, true, eff, exp99, &e->dv, e->a,
                 sizeof(e->a));
    e->nb = cert("ZZPICOTR00001", "ZZPICOTR00002", &e->kb.grp, &e->kb.Q, true, eff, exp99, &e->ka, e->b,
                 sizeof(e->b));
}

static void enrolled_down(enrolled *e)
{
    mbedtls_ecp_keypair_free(&e->root);
    mbedtls_ecp_keypair_free(&e->dv);
    mbedtls_ecp_keypair_free(&e->ka);
    mbedtls_ecp_keypair_free(&e->kb);
    kt_pub_free(&e->dev);
}

/* Whether the stored object id holds exactly data. */
static bool stored_as(uint16_t id, const uint8_t *data, size_t n)
{
    static uint8_t b[2048];
    size_t len = 0;
    return hsm_store_read(id, 0, b, sizeof(b), &len) == HSM_OK && len == n && memcmp(b, data, n) == 0;
}

static const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};

static void test_device_key_lifecycle(void)
{
    static uint8_t a[HSM_DEVID_C_DEVAUT_MAX], b[HSM_DEVID_C_DEVAUT_MAX];
    kt_pub k;
    /* Before INITIALIZE: a placeholder, replaced by INITIALIZE. */
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    kt_remount();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    size_t n0 = read_2f02(b, sizeof(b));
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03), 0x9000);
    kt_login();
    size_t na = read_2f02(a, sizeof(a));
    CHECK(na != n0 || memcmp(a, b, na) != 0);
    size_t sealed_len = 0;
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DEVKEY, &sealed_len), HSM_OK);
    CHECK_EQ_INT(sealed_len, 101 + HSM_SEALED_OVERHEAD);
    size_t chain_len = 0;
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DEVCHAIN, &chain_len), HSM_OK);
    CHECK_EQ_INT(chain_len, na);

    /* The answer is signed by that key (kt_check_answer reads 2F02) and kept in CE01. */
    CHECK_EQ_INT(kt_generate(0x01, &p256, NULL), 0x9000);
    static uint8_t answer[1024];
    size_t alen = kt_data_len();
    memcpy(answer, kt_resp, alen);
    CHECK(kt_check_answer(&p256, NULL, &k));
    kt_pub_free(&k);
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0xCE, 0x01, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), alen);
    CHECK_MEM(kt_resp, answer, alen);

    /* The private scalar (exposed through production code) is nowhere in the raw flash. */
    {
        hsm_device d;
        uint8_t mkek[HSM_MKEK_SIZE], sealed[256], plain[128];
        unsigned tries;
        hsm_session s;
        size_t sn = 0, pn = 0;
        memset(&s, 0, sizeof(s));
        CHECK_EQ_INT(hsm_device_load(&d), HSM_OK);
        CHECK_EQ_INT(hsm_pin_check(&d, HSM_PIN_ROLE_USER, kt_pin, sizeof(kt_pin), mkek, &tries), HSM_OK);
        CHECK_EQ_INT(hsm_session_open_keys(&s, mkek), HSM_OK);
        CHECK_EQ_INT(hsm_store_read(HSM_ID_DEVKEY, 0, sealed, sizeof(sealed), &sn), HSM_OK);
        CHECK_EQ_INT(hsm_secret_expose(&s, HSM_ID_DEVKEY, sealed, sn, plain, sizeof(plain), &pn), HSM_OK);
        CHECK_EQ_INT(pn, 101);
        CHECK(plain[0] == 0x81 && plain[1] == 32);
        static uint8_t img[1024 * 1024];
        size_t fn = kt_flash_image(img, sizeof(img)), hits = 0;
        for (size_t o = 0; o + 16 <= fn; o++) {
            hits += memcmp(img + o, plain + 2, 16) == 0 || memcmp(img + o, plain + 18, 16) == 0;
        }
        CHECK_EQ_INT(hits, 0);
        hsm_session_clear(&s);
    }

    /* A remount (restart) and a re-initialisation with the SO-PIN keep the key and 2F02. */
    kt_remount();
    kt_login();
    CHECK_EQ_INT(read_2f02(b, sizeof(b)), na);
    CHECK_MEM(b, a, na);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, '1', '2', '3', '4', '5', '6',
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03), 0x9000);
    CHECK_EQ_INT(read_2f02(b, sizeof(b)), na);
    CHECK_MEM(b, a, na);
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0xCE, 0x01, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00), 0x6A82); /* wiped */
    CHECK_EQ_INT(kt_generate(0x02, &p256, NULL), 0x9000);
    CHECK(kt_check_answer(&p256, NULL, &k)); /* still verifies under the same 2F02 key */
    kt_pub_free(&k);
}

static void test_install_and_pso(void)
{
    static uint8_t chain[2048], c[1024], dev2f02[HSM_DEVID_C_DEVAUT_MAX];
    mbedtls_ecp_keypair root, dv, other, leaf;
    kt_pub dev;
    kt_power_up();
    size_t n2f = read_2f02(dev2f02, sizeof(dev2f02));
    CHECK(kt_device_key(&dev));
    const char *chr = kt_chr();
    gen(&root, MBEDTLS_ECP_DP_SECP256R1);
    gen(&dv, MBEDTLS_ECP_DP_SECP256R1);
    gen(&other, MBEDTLS_ECP_DP_SECP256R1);
    gen(&leaf, MBEDTLS_ECP_DP_BP256R1);

    /* 2F02 refuses what is not this device's chain, and needs the user PIN. */
    size_t n = cert("ZZPICODV00001", chr, &other.grp, &other.Q, true, eff, exp99, &dv, c, sizeof(c));
    CHECK_EQ_INT(put_2f02(c, n), 0x6985);                 /* another key */
    n = cert("ZZPICODV00001", "ZZPOTHER00001", &dev.grp, &dev.Q, true, eff, exp99, &dv, c, sizeof(c));
    CHECK_EQ_INT(put_2f02(c, n), 0x6985);                 /* another CHR */
    CHECK_EQ_INT(put_2f02(c, n - 3), 0x6A80);             /* truncated */
    CHECK_EQ_INT(put_2f02((const uint8_t *)"\x7F\x21\x00", 3), 0x6A80);
    CHECK_EQ_INT(KT_TX(0x00, 0xD7, 0x2F, 0x02, 0x07, 0x54, 0x02, 0x00, 0x01, 0x53, 0x01, 0x00), 0x6B00);
    CHECK_EQ_INT(read_2f02(c, sizeof(c)), n2f);           /* unchanged */
    CHECK_MEM(c, dev2f02, n2f);

    /* device cert || DV cert, both with domain parameters (OpenSC's decoder needs 81 and 82) */
    size_t nchain = enrol(&dev, &root, &dv, chain, sizeof(chain));
    CHECK_EQ_INT(read_2f02(c, sizeof(c)), nchain);
    CHECK_MEM(c, chain, nchain);
    kt_pub k;
    CHECK_EQ_INT(kt_generate(0x03, &p256, NULL), 0x9000); /* the outer CAR stays the device CHR */
    CHECK(kt_check_answer(&p256, NULL, &k));
    kt_pub_free(&k);

    /* MSE SET errors */
    CHECK_EQ_INT(KT_TX(0x00, 0x22, 0x80, 0xB6, 0x02, 0x83, 0x00), 0x6A86); /* P1 without SET */
    CHECK_EQ_INT(KT_TX(0x00, 0x22, 0x81, 0xB7, 0x03, 0x83, 0x01, 'X'), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x00, 0x22, 0x81, 0xB6, 0x07, 0x83, 0x05, 'N', 'O', 'N', 'E', '1'), 0x6A88);
    CHECK_EQ_INT(KT_TX(0x00, 0x22, 0x81, 0xB6, 0x03, 0x83, 0x05, 'N'), 0x6A80); /* malformed TLV */
    /* PSO without a current key */
    CHECK_EQ_INT(KT_TX(0x00, 0x2A, 0x00, 0xBE, 0x01, 0x00), 0x6A88);

    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0x2A, 0x00, 0xBE), 0x6700);
    CHECK_EQ_INT(KT_TX(0x00, 0x2A, 0x01, 0xBE, 0x01, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x00, 0x2A, 0x00, 0xBD, 0x01, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x00, 0x2A, 0x00, 0xBE, 0x03, 0x7F, 0x21, 0x05), 0x6984); /* malformed */

    /* A brainpool key certified by the DV: verified and stored as CA00 with C800. */
    n = cert("ZZPICODV00001", "ZZPICOTR00001", &leaf.grp, &leaf.Q, true, eff, exp99, &dv, c, sizeof(c));
    static uint8_t bad[1024];
    memcpy(bad, c, n);
    bad[n - 1] ^= 0x01;
    CHECK_EQ_INT(pso(bad, n), 0x6985); /* signature */
    size_t nx = cert("ZZPICODV00001", "ZZPICOTR00002", &leaf.grp, &leaf.Q, true, eff,
                     (const uint8_t[6]){2, 5, 1, 2, 3, 1}, &dv, bad, sizeof(bad));
    CHECK_EQ_INT(pso(bad, nx), 0x6985); /* expired before 2026 */
    nx = cert("ZZPICOXX00001", "ZZPICOTR00003", &leaf.grp, &leaf.Q, true, eff, exp99, &dv, bad, sizeof(bad));
    CHECK_EQ_INT(pso(bad, nx), 0x6985); /* CAR not the current key */
    CHECK_EQ_INT(hsm_store_size(0xCA00, &nx), HSM_ERR_NOT_FOUND);

    /* Without the 7F21 header (pypicohsm), then with it again: already trusted. */
    hsm_tlv whole;
    CHECK_EQ_INT(hsm_tlv_find(c, n, 0x7F21, &whole), 1);
    CHECK_EQ_INT(pso(whole.value, whole.len), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0xCA, 0x00, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), n);
    CHECK_MEM(kt_resp, c, n);
    CHECK_EQ_INT(KT_TX(0x00, 0xB1, 0xC8, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00), 0x9000);
    CHECK(kt_data_len() > 30 && kt_resp[0] == 0x30);
    CHECK_EQ_INT(pso(c, n), 0x9000);
    CHECK_EQ_INT(hsm_store_size(0xCA01, &nx), HSM_ERR_NOT_FOUND);

    /* The new certificate is a verifier now; the store is full at 4 (device, DV, CA00, one more). */
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x9000);
    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
    /* TR00004 carries only 06 and 86: as a verifier it takes its curve from the DV. */
    n = cert("ZZPICODV00001", "ZZPICOTR00004", &other.grp, &other.Q, false, eff, exp99, &dv, c, sizeof(c));
    CHECK_EQ_INT(pso(c, n), 0x9000);
    n = cert("ZZPICODV00001", "ZZPICOTR00005", &other.grp, &other.Q, true, eff, exp99, &dv, c, sizeof(c));
    CHECK_EQ_INT(pso(c, n), 0x6A84);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00004"), 0x9000);
    n = cert("ZZPICOTR00004", "ZZPICOTR00006", &leaf.grp, &leaf.Q, true, eff, exp99, &other, c, sizeof(c));
    CHECK_EQ_INT(pso(c, n), 0x6A84); /* verified, but no room */
    c[n - 5] ^= 0x40;
    CHECK_EQ_INT(pso(c, n), 0x6985);
    /* SELECT forgets the current key; the card still works. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(pso(c, n), 0x6A88);
    CHECK_EQ_INT(KT_TX(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);

    mbedtls_ecp_keypair_free(&root);
    mbedtls_ecp_keypair_free(&dv);
    mbedtls_ecp_keypair_free(&other);
    mbedtls_ecp_keypair_free(&leaf);
    kt_pub_free(&dev);
}

/* A CV certificate is trusted from CA xx only as PSO stored it there (HSM_ID_CA_VOUCHED):
 * UPDATE BINARY needs only the user PIN, and OpenSC keeps X.509 CA certificates in CA xx. */
static void test_planted_ca(void)
{
    static const uint8_t sopin_init[] = {0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                                         0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03};
    static enrolled e;
    size_t n;
    enrolled_up(&e);
    const uint8_t *a = e.a, *b = e.b;
    size_t na = e.na, nb = e.nb;

    /* Planted with UPDATE BINARY: well-formed and even rightly signed, yet not a verifier, and
     * what it signed is refused. */
    CHECK_EQ_INT(put_file(0xCA00, a, na), 0x9000);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x6A88);
    CHECK_EQ_INT(pso(b, nb), 0x6A88); /* no current key */
    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
    CHECK_EQ_INT(pso(b, nb), 0x6985); /* CAR not the current key */
    CHECK_EQ_INT(hsm_store_size(0xCA01, &n), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_CA_VOUCHED, &n), HSM_ERR_NOT_FOUND);

    /* The same bytes through PSO: stored in the next free slot and trusted (CA00 is not). */
    CHECK_EQ_INT(pso(a, na), 0x9000);
    CHECK(stored_as(0xCA01, a, na));
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x9000);
    CHECK_EQ_INT(pso(b, nb), 0x9000);
    CHECK(stored_as(0xCA02, b, nb));
    CHECK_EQ_INT(mse_dst("ZZPICOTR00002"), 0x9000);
    CHECK_EQ_INT(pso(a, na), 0x6985); /* a is not issued by TR00002 */
    CHECK_EQ_INT(hsm_store_size(HSM_ID_CA_VOUCHED, &n), HSM_OK);
    CHECK_EQ_INT(n, 2 * 33);

    /* A refused write changes nothing; an accepted one, or a delete, withdraws the trust for
     * good: the same bytes written back are not trusted. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000); /* logged out */
    CHECK_EQ_INT(put_file(0xCA02, b, nb), 0x6982);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCA, 0x01), 0x6982);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00002"), 0x9000);
    kt_login();
    CHECK_EQ_INT(put_file(0xCA02, b, nb), 0x9000);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00002"), 0x6A88);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCA, 0x01), 0x9000);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x6A88);
    CHECK_EQ_INT(put_file(0xCA01, a, na), 0x9000);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x6A88);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_CA_VOUCHED, &n), HSM_OK);
    CHECK_EQ_INT(n, 0);

    /* PSO again (slot CA03), then a re-initialisation: the list goes with the state it belongs
     * to, the enrolled chain (device-lifetime) stays; a planted copy is still not trusted. */
    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
    CHECK_EQ_INT(pso(a, na), 0x9000);
    CHECK(stored_as(0xCA03, a, na));
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x9000);
    CHECK_EQ_INT(kt_tx(sopin_init, sizeof(sopin_init)), 0x9000);
    kt_login();
    CHECK_EQ_INT(hsm_store_size(HSM_ID_CA_VOUCHED, &n), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_size(0xCA03, &n), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x6A88);
    CHECK_EQ_INT(put_file(0xCA03, a, na), 0x9000);
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x6A88);
    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
    CHECK_EQ_INT(pso(a, na), 0x9000);
    CHECK(stored_as(0xCA00, a, na));
    CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x9000);
    enrolled_down(&e);
}

static uint8_t snap[1024 * 1024];
static size_t snap_len;

/* The card as in snap, logged in, the DV current: the same flash operations every time. */
static void from_snapshot(void)
{
    CHECK_EQ_INT(ram_port_restore(snap, snap_len), HSM_OK);
    kt_remount();
    kt_login();
    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
}

/* A power cut at every flash operation of a PSO that stores a certificate, 8 torn patterns
 * each (a torn program often still lands whole: its page is mostly FF): afterwards the
 * certificate is trusted only if CA00 holds exactly it; the cut between the CA00 write and the
 * list leaves an untrusted file (fail closed); a PSO again always gets it trusted. */
static void test_pso_power_cut(void)
{
    static enrolled e;
    enrolled_up(&e);
    const uint8_t *a = e.a;
    size_t na = e.na;
    snap_len = ram_port_snapshot(snap, sizeof(snap));
    CHECK(snap_len > 0);

    from_snapshot();
    uint32_t before = ram_port_flash_ops();
    CHECK_EQ_INT(pso(a, na), 0x9000);
    uint32_t ops = ram_port_flash_ops() - before;
    CHECK(ops >= 3); /* CA00, the list, C800 */
    printf("PSO storing a certificate: %u flash operations\n", (unsigned)ops);

    unsigned trusted = 0, untrusted_file = 0, absent = 0;
    for (uint32_t k = 0; k < 8 * (ops + 1); k++) {
        size_t n;
        from_snapshot();
        ram_port_cut_after(1 + k / 8, 0x7A57 + k);
        uint16_t sw = pso(a, na);
        ram_port_cut_after(0, 0);
        kt_remount();
        kt_login();
        bool file = hsm_store_size(0xCA00, &n) == HSM_OK;
        bool ok = mse_dst("ZZPICOTR00001") == 0x9000;
        if (ok) {
            trusted++;
            CHECK(stored_as(0xCA00, a, na));
        } else if (file) {
            untrusted_file++;
        } else {
            absent++;
        }
        CHECK(sw != 0x9000 || ok);
        if (!ok) {
            CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
            CHECK_EQ_INT(pso(a, na), 0x9000);
            CHECK_EQ_INT(mse_dst("ZZPICOTR00001"), 0x9000);
        }
    }
    printf("power cuts: %u trusted, %u left an untrusted CA00, %u left none\n", trusted,
           untrusted_file, absent);
    CHECK(trusted >= 1 && untrusted_file >= 1 && absent >= 1);
    enrolled_down(&e);
}

/* PSO keeps only certificates the trust store can load again: with its 7F21 header at most 1024
 * bytes (CERT_MAX), sent with or without the header. Two of that size (the store's two free
 * entries after device and DV) are both trusted afterwards, also after a restart; one byte
 * more is refused (6700 with the header, 6984 without it) and nothing is stored. */
static void test_pso_sizes(void)
{
    static enrolled e;
    static uint8_t c[1100];
    hsm_tlv whole;
    size_t n, nx;
    enrolled_up(&e);
    CHECK_EQ_INT(mse_dst("ZZPICODV00001"), 0x9000);
    n = cert_sized("ZZPICODV00001", "ZZPICOTR00007", &e.ka, &e.dv, 1025, c, sizeof(c));
    CHECK_EQ_INT(pso(c, n), 0x6700); /* longer than the command table's 1024 */
    CHECK_EQ_INT(hsm_tlv_find(c, n, 0x7F21, &whole), 1);
    CHECK_EQ_INT(pso(whole.value, whole.len), 0x6984); /* 1021 bytes, 1025 once wrapped */
    CHECK_EQ_INT(hsm_store_size(0xCA00, &nx), HSM_ERR_NOT_FOUND);

    n = cert_sized("ZZPICODV00001", "ZZPICOTR00007", &e.ka, &e.dv, 1024, c, sizeof(c));
    CHECK_EQ_INT(pso(c, n), 0x9000);
    n = cert_sized("ZZPICODV00001", "ZZPICOTR00008", &e.kb, &e.dv, 1024, c, sizeof(c));
    CHECK_EQ_INT(hsm_tlv_find(c, n, 0x7F21, &whole), 1);
    CHECK_EQ_INT(pso(whole.value, whole.len), 0x9000);
    CHECK(stored_as(0xCA01, c, n));
    for (int restart = 0; restart < 2; restart++) {
        CHECK_EQ_INT(mse_dst("ZZPICOTR00007"), 0x9000);
        CHECK_EQ_INT(mse_dst("ZZPICOTR00008"), 0x9000);
        kt_remount();
        kt_login();
    }
    enrolled_down(&e);
}

int main(void)
{
    test_device_key_lifecycle();
    test_install_and_pso();
    test_planted_ca();
    test_pso_power_cut();
    test_pso_sizes();
    return CHECK_DONE();
}
