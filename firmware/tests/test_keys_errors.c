/* test_keys_errors.c — what GENERATE ASYMMETRIC KEY PAIR, SIGN and DECIPHER refuse, and the key
 * policy (core spec 2.11.3, 2.12.4, 2.13; ext. spec 4.4-4.5), through the card's APDU entry
 * point. Every refusal is checked for its status word and for leaving the keys working.
 *   - access: no PIN (6982), P1 00 (6A86), unknown key (6A82), unknown algorithm byte (6A86),
 *     an algorithm that does not fit the key type (6A81);
 *   - GAKP requests that are malformed (6A80) or ask for what the card does not make (6A81),
 *     and that nothing is stored for them;
 *   - inputs of wrong length or value (6A80): RSA raw, PKCS#1 v1.5, PSS, ECDSA, ECDH points;
 *   - the algorithm list (GAKP 91) and the usage counter (GAKP 90): 6A81 and 6984, a refused
 *     request spends nothing, the counter survives a power cycle;
 *   - DELETE FILE CCxx;
 *   - a power cut at every flash operation of a counter-limited SIGN: whenever the card gave a
 *     signature, the decremented counter was already in flash. */
#include "keys_common.h"

#define RSA_ID 0x01
#define EC_ID 0x02
#define X_ID 0x03

static const kt_type rsa1024 = {"RSA-1024", KT_RSA, 1024, MBEDTLS_ECP_DP_NONE};
static const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};
static const kt_type x25519 = {"X25519", KT_MONT, 0, MBEDTLS_ECP_DP_CURVE25519};

static kt_pub rsa, ec, xk;
static const uint8_t msg[] = "a message to sign, long enough to be a message";

/* ---- the three keys keep working ---------------------------------------------------------- */

static bool rsa_works(uint8_t id, kt_pub *k)
{
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    return kt_sign(id, 0x33, msg, sizeof(msg)) == 0x9000 &&
           kt_v15_ok(k, MBEDTLS_MD_SHA256, h, 32, kt_resp, kt_data_len());
}

static bool ec_works(uint8_t id, kt_pub *k)
{
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    return kt_sign(id, 0x73, msg, sizeof(msg)) == 0x9000 &&
           kt_ecdsa_ok(k, h, 32, kt_resp, kt_data_len(), true);
}

/* ECDH from a fresh ephemeral key; the card's 04 || z must equal the test's z. */
static bool ecdh_works(uint8_t id, kt_pub *k)
{
    mbedtls_mpi d, z;
    mbedtls_ecp_point Q;
    uint8_t pt[1 + 2 * KT_FIELD_MAX], zb[KT_FIELD_MAX];
    size_t n;
    mbedtls_mpi_init(&d), mbedtls_mpi_init(&z), mbedtls_ecp_point_init(&Q);
    bool mont = k->kind == KT_MONT;
    bool ok = mbedtls_ecp_gen_keypair(&k->grp, &d, &Q, kt_rng, NULL) == 0 &&
              mbedtls_ecp_point_write_binary(&k->grp, &Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, pt, sizeof(pt)) == 0 &&
              mbedtls_ecdh_compute_shared(&k->grp, &z, &k->Q, &d, kt_rng, NULL) == 0 &&
              (mont ? mbedtls_mpi_write_binary_le(&z, zb, k->len) : mbedtls_mpi_write_binary(&z, zb, k->len)) == 0;
    ok = ok && kt_decipher(id, 0x80, pt, n) == 0x9000 && kt_data_len() == 1 + k->len &&
         kt_resp[0] == 0x04 && memcmp(kt_resp + 1, zb, k->len) == 0;
    mbedtls_mpi_free(&d), mbedtls_mpi_free(&z), mbedtls_ecp_point_free(&Q);
    return ok;
}

#define KEYS_WORK()                         \
    do {                                    \
        CHECK(rsa_works(RSA_ID, &rsa));     \
        CHECK(ec_works(EC_ID, &ec));        \
        CHECK(ecdh_works(EC_ID, &ec));      \
        CHECK(ecdh_works(X_ID, &xk));       \
    } while (0)

static void setup(void)
{
    kt_power_up();
    CHECK_EQ_INT(kt_generate(RSA_ID, &rsa1024, NULL), 0x9000);
    CHECK(kt_check_answer(&rsa1024, NULL, &rsa));
    CHECK_EQ_INT(kt_generate(EC_ID, &p256, NULL), 0x9000);
    CHECK(kt_check_answer(&p256, NULL, &ec));
    CHECK_EQ_INT(kt_generate(X_ID, &x25519, NULL), 0x9000);
    CHECK(kt_check_answer(&x25519, NULL, &xk));
    KEYS_WORK();
}

static bool key_stored(uint8_t id)
{
    size_t n;
    return hsm_store_size((uint16_t)(0xCC00 | id), &n) == HSM_OK;
}

/* ---- access ----------------------------------------------------------------------------------- */

static void test_access(void)
{
    uint8_t gakp[512], tpl[512];
    kt_buf b = {tpl, sizeof(tpl), 0};
    kt_template(&p256, NULL, 0, &b);
    size_t gn = kt_request(tpl, b.len, NULL, gakp, sizeof(gakp));
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);

    /* No PIN: SELECT is OpenSC's logout. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(kt_gakp_raw(0x20, 0x00, gakp, gn), 0x6982);
    CHECK_EQ_INT(kt_sign(EC_ID, 0x70, h, 32), 0x6982);
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x33, msg, sizeof(msg)), 0x6982);
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, ec.raw, ec.raw_len), 0x6982);
    CHECK_EQ_INT(kt_decipher(RSA_ID, 0x21, rsa.raw, rsa.len), 0x6982);
    CHECK(!key_stored(0x20));
    /* A wrong PIN does not log in either. */
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x81, 0x06, '0', '0', '0', '0', '0', '0'), 0x63C2);
    CHECK_EQ_INT(kt_sign(EC_ID, 0x70, h, 32), 0x6982);
    kt_login();
    KEYS_WORK();

    /* P1 00 is the device key: not for these commands. */
    CHECK_EQ_INT(kt_gakp_raw(0x00, 0x00, gakp, gn), 0x6A86);
    CHECK_EQ_INT(kt_sign(0x00, 0x70, h, 32), 0x6A86);
    CHECK_EQ_INT(kt_sign(0x00, 0x33, msg, sizeof(msg)), 0x6A86);
    CHECK_EQ_INT(kt_decipher(0x00, 0x80, ec.raw, ec.raw_len), 0x6A86);
    /* GAKP P2 other than 00 (the device key signs the outer layer). */
    CHECK_EQ_INT(kt_gakp_raw(0x20, 0x01, gakp, gn), 0x6A86);
    CHECK(!key_stored(0x20));

    /* Unknown key number. */
    CHECK_EQ_INT(kt_sign(0x77, 0x70, h, 32), 0x6A82);
    CHECK_EQ_INT(kt_sign(0x77, 0x33, msg, sizeof(msg)), 0x6A82);
    CHECK_EQ_INT(kt_decipher(0x77, 0x80, ec.raw, ec.raw_len), 0x6A82);
    CHECK_EQ_INT(kt_decipher(0x77, 0x21, rsa.raw, rsa.len), 0x6A82);
    KEYS_WORK();

    /* Unknown algorithm bytes (decided before the key is looked at). */
    static const uint8_t bad_sign[] = {0x00, 0x10, 0x21, 0x22, 0x2F, 0x36, 0x3F, 0x46, 0x4F, 0x50,
                                       0x60, 0x76, 0x7F, 0x80, 0x99, 0xFF};
    static const uint8_t bad_dec[] = {0x00, 0x20, 0x24, 0x30, 0x40, 0x70, 0x73, 0x81, 0x83, 0x85, 0xFF}; /* 84: XKEK */
    for (size_t i = 0; i < sizeof(bad_sign); i++) {
        CHECK_EQ_INT(kt_sign(EC_ID, bad_sign[i], h, 32), 0x6A86);
        CHECK_EQ_INT(kt_sign(RSA_ID, bad_sign[i], msg, sizeof(msg)), 0x6A86);
        CHECK_EQ_INT(kt_sign(0x77, bad_sign[i], h, 32), 0x6A86);
    }
    for (size_t i = 0; i < sizeof(bad_dec); i++) {
        CHECK_EQ_INT(kt_decipher(EC_ID, bad_dec[i], ec.raw, ec.raw_len), 0x6A86);
        CHECK_EQ_INT(kt_decipher(RSA_ID, bad_dec[i], rsa.raw, rsa.len), 0x6A86);
    }
    KEYS_WORK();

    /* Algorithms of another key type: 6A81. */
    static const struct { uint8_t id, ins, alg; } wrong_type[] = {
        {RSA_ID, 0x68, 0x70}, {RSA_ID, 0x68, 0x73}, {RSA_ID, 0x68, 0x75}, {RSA_ID, 0x62, 0x80},
        {EC_ID, 0x68, 0x20},  {EC_ID, 0x68, 0x30},  {EC_ID, 0x68, 0x33},  {EC_ID, 0x68, 0x40},
        {EC_ID, 0x68, 0x43},  {EC_ID, 0x62, 0x21},  {EC_ID, 0x62, 0x22},  {EC_ID, 0x62, 0x23},
        {X_ID, 0x68, 0x70},   {X_ID, 0x68, 0x73},   {X_ID, 0x68, 0x20},   {X_ID, 0x68, 0x43},
        {X_ID, 0x62, 0x21},   {X_ID, 0x62, 0x23},
    };
    for (size_t i = 0; i < sizeof(wrong_type) / sizeof(wrong_type[0]); i++) {
        const uint8_t *in = wrong_type[i].id == RSA_ID ? rsa.raw : h;
        size_t n = wrong_type[i].id == RSA_ID ? rsa.len : 32;
        uint16_t sw = kt_ext(0x80, wrong_type[i].ins, wrong_type[i].id, wrong_type[i].alg, in, n, 512);
        CHECK_EQ_INT(sw, 0x6A81);
    }
    KEYS_WORK();
}

/* ---- GAKP refusals ------------------------------------------------------------------------------ */

static size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* A Weierstrass template from explicit values (hex, big-endian, full field length). */
static size_t ec_template(const char *p, const char *a, const char *bb, const char *g, const char *n,
                          uint8_t *out, size_t cap)
{
    uint8_t v[200];
    kt_buf b = {out, cap, 0};
    kt_tlv(&b, 0x06, kt_oid_ecdsa_sha256, 10);
    kt_tlv(&b, 0x81, v, hex(p, v));
    kt_tlv(&b, 0x82, v, hex(a, v));
    kt_tlv(&b, 0x83, v, hex(bb, v));
    kt_tlv(&b, 0x84, v, hex(g, v));
    kt_tlv(&b, 0x85, v, hex(n, v));
    kt_tlv(&b, 0x87, "\x01", 1);
    return b.len;
}

static size_t rsa_template(const uint8_t *oid, size_t oid_len, const uint8_t *e, size_t elen,
                           const uint8_t *bits, size_t blen, uint8_t *out, size_t cap)
{
    kt_buf b = {out, cap, 0};
    if (oid) kt_tlv(&b, 0x06, oid, oid_len);
    if (e) kt_tlv(&b, 0x82, e, elen);
    if (bits) kt_tlv(&b, 0x02, bits, blen);
    return b.len;
}

/* X25519/X448-style template: p (big-endian), order, generator as given. */
static size_t mont_template(mbedtls_ecp_group_id id, const uint8_t *g, size_t glen, bool with_g,
                            uint8_t *out, size_t cap)
{
    kt_domain d;
    kt_domain_of(id, &d);
    kt_buf b = {out, cap, 0};
    kt_tlv(&b, 0x06, kt_oid_ecdsa_sha256, 10);
    kt_tlv(&b, 0x81, d.p, d.plen);
    kt_tlv(&b, 0x82, d.n, d.nlen);
    if (with_g) kt_tlv(&b, 0x83, g, glen);
    return b.len;
}

static void test_gakp_refused(void)
{
    static const uint8_t e65537[] = {0x01, 0x00, 0x01}, e_even[] = {0x01, 0x00, 0x00},
                         e_big[] = {0xFF, 0xFF, 0xFF, 0xFF}, e_one[] = {0x01},
                         e_five[] = {0x00, 0x00, 0x01, 0x00, 0x01};
    static const uint8_t b512[] = {0x02, 0x00}, b8192[] = {0x20, 0x00}, b1023[] = {0x03, 0xFF},
                         b1024[] = {0x04, 0x00}, b2048[] = {0x08, 0x00}, b3bytes[] = {0x00, 0x08, 0x00};
    static const uint8_t oid_rsa_pss_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x04};
    static const uint8_t oid_rsa_v15_sha1[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x01};
    static const uint8_t oid_ecdsa_sha384[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x04};
    static const uint8_t oid_rsa_encryption[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01};
    static const uint8_t oid_ta_unknown[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x03, 0x01};
    static uint8_t tpl[1024], data[2048];
    size_t tn, dn;
    uint8_t g[64];

    /* brainpoolP256t1: the p of brainpoolP256r1 with a = p - 3 (a "t1" curve); secp224r1 (not
     * in OpenSC's table, not generated here). Values as OpenSSL prints them. */
    static const struct {
        const char *name, *p, *a, *b, *g, *n;
    } curves[] = {
        {"brainpoolP256t1", "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
         "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5374",
         "662C61C430D84EA4FE66A7733D0B76B7BF93EBC4AF2F49256AE58101FEE92B04",
         "04A3E8EB3CC1CFE7B7732213B23A656149AFA142C47AAFBC2B79A191562E1305F42D996C823439C56D7F7B22E14644417E69BCB6DE39D027001DABE8F35B25C9BE",
         "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"},
        {"secp224r1", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000000000000000000000001",
         "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFE",
         "B4050A850C04B3ABF54132565044B0B7D7BFD8BA270B39432355FFB4",
         "04B70E0CBD6BB4BF7F321390B94A03C1D356C21122343280D6115C1D21BD376388B5F723FB4C22DFE6CD4375A05A07476444D5819985007E34",
         "FFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D"},
        /* brainpoolP256r1's p with secp256k1's a (0): matching p alone is not enough. */
        {"bp256 p, a = 0", "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
         "0000000000000000000000000000000000000000000000000000000000000000",
         "662C61C430D84EA4FE66A7733D0B76B7BF93EBC4AF2F49256AE58101FEE92B04", "04", "01"},
    };
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        tn = ec_template(curves[i].p, curves[i].a, curves[i].b, curves[i].g, curves[i].n, tpl, sizeof(tpl));
        dn = kt_request(tpl, tn, NULL, data, sizeof(data));
        uint16_t sw = kt_gakp_raw(0x20, 0x00, data, dn);
        CHECK_EQ_INT(sw, 0x6A81);
        if (sw != 0x6A81) fprintf(stderr, "GAKP %s: %04X\n", curves[i].name, sw);
        CHECK(!key_stored(0x20));
    }

    /* RSA: sizes and exponents the card does not make, malformed fields, other algorithms. */
    static const struct {
        const char *name;
        const uint8_t *oid;
        size_t oid_len;
        const uint8_t *e, *bits;
        size_t elen, blen;
        uint16_t sw;
    } rsa_cases[] = {
        {"RSA 512", kt_oid_rsa_v15_sha256, 10, e65537, b512, 3, 2, 0x6A81},
        {"RSA 8192", kt_oid_rsa_v15_sha256, 10, e65537, b8192, 3, 2, 0x6A81},
        {"RSA 1023", kt_oid_rsa_v15_sha256, 10, e65537, b1023, 3, 2, 0x6A81},
        {"RSA even e", kt_oid_rsa_v15_sha256, 10, e_even, b2048, 3, 2, 0x6A81},
        {"RSA e = 2^32 - 1", kt_oid_rsa_v15_sha256, 10, e_big, b1024, 4, 2, 0x6A81},
        {"RSA e = 1", kt_oid_rsa_v15_sha256, 10, e_one, b1024, 1, 2, 0x6A81},
        {"RSA e of 5 bytes", kt_oid_rsa_v15_sha256, 10, e_five, b1024, 5, 2, 0x6A80},
        {"RSA 3-byte size", kt_oid_rsa_v15_sha256, 10, e65537, b3bytes, 3, 3, 0x6A80},
        {"RSA empty e", kt_oid_rsa_v15_sha256, 10, e65537, b2048, 0, 2, 0x6A80},
        {"no 06", NULL, 0, e65537, b2048, 3, 2, 0x6A80},
        {"rsaEncryption", oid_rsa_encryption, sizeof(oid_rsa_encryption), e65537, b2048, 3, 2, 0x6A81},
        {"id-TA 3.1", oid_ta_unknown, 10, e65537, b2048, 3, 2, 0x6A81},
        /* The inner signature is always PKCS#1 v1.5 / ECDSA with SHA-256: an OID naming
         * another algorithm would label it wrongly, so only the SHA-256 ones are accepted
         * (as the Pico firmware does, ext. spec 5.2.1). */
        {"id-TA-RSA-PSS-SHA-256", oid_rsa_pss_sha256, 10, e65537, b1024, 3, 2, 0x6A81},
        {"id-TA-RSA-v1-5-SHA-1", oid_rsa_v15_sha1, 10, e65537, b1024, 3, 2, 0x6A81},
    };
    for (size_t i = 0; i < sizeof(rsa_cases) / sizeof(rsa_cases[0]); i++) {
        tn = rsa_template(rsa_cases[i].oid, rsa_cases[i].oid_len, rsa_cases[i].e, rsa_cases[i].elen,
                          rsa_cases[i].bits, rsa_cases[i].blen, tpl, sizeof(tpl));
        dn = kt_request(tpl, tn, NULL, data, sizeof(data));
        uint16_t sw = kt_gakp_raw(0x20, 0x00, data, dn);
        CHECK_EQ_INT(sw, rsa_cases[i].sw);
        if (sw != rsa_cases[i].sw) fprintf(stderr, "GAKP %s: %04X\n", rsa_cases[i].name, sw);
        CHECK(!key_stored(0x20));
    }
    /* An EC request naming ECDSA-SHA-384. */
    const kt_opts sha384 = {.oid = oid_ecdsa_sha384, .oid_len = 10};
    CHECK_EQ_INT(kt_generate(0x20, &p256, &sha384), 0x6A81);
    CHECK(!key_stored(0x20));

    /* Curve25519 / Curve448 primes: the generator decides; Ed25519 / Ed448 are not offered. */
    static const uint8_t ed25519_g[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                          0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                          0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
    memset(g, 0, sizeof(g));
    g[0] = 0x14; /* a 57-byte (Edwards) encoding on the Curve448 prime */
    static const struct {
        const char *name;
        mbedtls_ecp_group_id id;
        const uint8_t *g;
        size_t glen;
        bool with_g;
        uint16_t sw;
    } mont_cases[] = {
        {"Ed25519", MBEDTLS_ECP_DP_CURVE25519, ed25519_g, 32, true, 0x6A81},
        {"Ed448", MBEDTLS_ECP_DP_CURVE448, NULL, 57, true, 0x6A81},
        {"X448 generator of 32 bytes", MBEDTLS_ECP_DP_CURVE448, NULL, 32, true, 0x6A81},
        {"X25519 without 83", MBEDTLS_ECP_DP_CURVE25519, NULL, 0, false, 0x6A80},
        {"X25519 empty 83", MBEDTLS_ECP_DP_CURVE25519, NULL, 0, true, 0x6A80},
    };
    for (size_t i = 0; i < sizeof(mont_cases) / sizeof(mont_cases[0]); i++) {
        uint8_t gg[64] = {0};
        if (mont_cases[i].g) {
            memcpy(gg, mont_cases[i].g, mont_cases[i].glen);
        } else if (mont_cases[i].id == MBEDTLS_ECP_DP_CURVE448 && mont_cases[i].glen == 57) {
            memcpy(gg, g, 57);
        } else {
            gg[0] = 0x05;
        }
        tn = mont_template(mont_cases[i].id, gg, mont_cases[i].glen, mont_cases[i].with_g, tpl, sizeof(tpl));
        dn = kt_request(tpl, tn, NULL, data, sizeof(data));
        uint16_t sw = kt_gakp_raw(0x20, 0x00, data, dn);
        CHECK_EQ_INT(sw, mont_cases[i].sw);
        if (sw != mont_cases[i].sw) fprintf(stderr, "GAKP %s: %04X\n", mont_cases[i].name, sw);
        CHECK(!key_stored(0x20));
    }

    /* Malformed requests: 6A80, nothing stored. */
    kt_buf b = {tpl, sizeof(tpl), 0};
    kt_template(&p256, NULL, 0, &b);
    tn = b.len;
    struct raw_case {
        const char *name;
        uint8_t data[64];
        size_t n;
    };
    static const struct raw_case raw_cases[] = {
        {"truncated 7F49", {0x5F, 0x29, 0x01, 0x00, 0x7F, 0x49, 0x82, 0x01, 0x00, 0x06, 0x0A}, 11},
        {"truncated length", {0x5F, 0x29, 0x01, 0x00, 0x7F, 0x49, 0x82, 0x01}, 8},
        {"no 7F49", {0x5F, 0x29, 0x01, 0x00, 0x42, 0x01, 'X', 0x5F, 0x20, 0x01, 'Y'}, 11},
        {"7F49 without 06", {0x7F, 0x49, 0x05, 0x82, 0x03, 0x01, 0x00, 0x01}, 8},
        {"EC without 81", {0x7F, 0x49, 0x0C, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03}, 15},
        {"EC without 82", {0x7F, 0x49, 0x0F, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03, 0x81, 0x01, 0x07}, 18},
        {"CAR of 17", {0x42, 0x11, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q',
                       0x7F, 0x49, 0x05, 0x82, 0x03, 0x01, 0x00, 0x01}, 27},
        {"counter of 5 bytes", {0x90, 0x05, 0, 0, 0, 0, 1, 0x7F, 0x49, 0x05, 0x82, 0x03, 0x01, 0x00, 0x01}, 15},
        {"indefinite length", {0x7F, 0x49, 0x80, 0x00, 0x00}, 5},
    };
    for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
        uint16_t sw = kt_gakp_raw(0x20, 0x00, raw_cases[i].data, raw_cases[i].n);
        CHECK_EQ_INT(sw, 0x6A80);
        if (sw != 0x6A80) fprintf(stderr, "GAKP %s: %04X\n", raw_cases[i].name, sw);
        CHECK(!key_stored(0x20));
    }
    /* A well-formed P-256 request followed by trailing garbage. */
    dn = kt_request(tpl, tn, NULL, data, sizeof(data));
    data[dn++] = 0x5F;
    CHECK_EQ_INT(kt_gakp_raw(0x20, 0x00, data, dn), 0x6A80);
    CHECK(!key_stored(0x20));
    /* Well-formed requests with a short Le (256; every answer here is longer): 6700, and no
     * key is kept, since the host never learnt its public key. */
    const kt_type *short_le[] = {&p256, &rsa1024, &x25519};
    for (size_t i = 0; i < 3; i++) {
        b.len = 0;
        kt_template(short_le[i], NULL, 0, &b);
        dn = kt_request(tpl, b.len, NULL, data, sizeof(data));
        CHECK_EQ_INT(kt_ext(0x00, 0x46, 0x20, 0x00, data, dn, 256), 0x6700);
        CHECK_EQ_INT(kt_data_len(), 0);
        CHECK(!key_stored(0x20));
    }
    /* A refused request for a number in use leaves that key as it was. */
    tn = ec_template(curves[1].p, curves[1].a, curves[1].b, curves[1].g, curves[1].n, tpl, sizeof(tpl));
    dn = kt_request(tpl, tn, NULL, data, sizeof(data));
    CHECK_EQ_INT(kt_gakp_raw(EC_ID, 0x00, data, dn), 0x6A81);
    CHECK_EQ_INT(kt_gakp_raw(RSA_ID, 0x00, raw_cases[0].data, raw_cases[0].n), 0x6A80);
    KEYS_WORK();
}

/* ---- inputs --------------------------------------------------------------------------------------- */

static void test_bad_inputs(void)
{
    static uint8_t in[600];
    const size_t k = rsa.len;
    uint8_t h[64], di[128];

    /* RSA raw (20 sign, 21 decipher): exactly modulus bytes, value below the modulus. */
    static const struct { const char *name; int len_delta; int value; } raw[] = {
        {"k - 1 bytes", -1, 0}, {"k + 1 bytes", +1, 0}, {"1 byte", 1 - 128, 0},
        {"= N", 0, 1}, {"all FF", 0, 2}, {"N, last byte FF", 0, 3},
    };
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        size_t n = (size_t)((int)k + raw[i].len_delta);
        memset(in, 0x11, sizeof(in));
        if (raw[i].value == 1 || raw[i].value == 3) memcpy(in, rsa.raw, k);
        if (raw[i].value == 2) memset(in, 0xFF, k);
        if (raw[i].value == 3) in[k - 1] = 0xFF; /* >= N whatever N's last byte */
        CHECK_EQ_INT(kt_sign(RSA_ID, 0x20, in, n), 0x6A80);
        CHECK_EQ_INT(kt_decipher(RSA_ID, 0x21, in, n), 0x6A80);
        CHECK_EQ_INT(kt_decipher(RSA_ID, 0x22, in, n), 0x6A80);
        CHECK_EQ_INT(kt_decipher(RSA_ID, 0x23, in, n), 0x6A80);
    }
    /* N - 1 is the largest accepted value. */
    memcpy(in, rsa.raw, k);
    in[k - 1]--;
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x20, in, k), 0x9000);

    /* 30: DigestInfo up to k - 11 bytes. */
    memset(in, 0x30, sizeof(in));
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x30, in, k - 10), 0x6A80);
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x30, in, k - 11), 0x9000);

    /* PSS: salt + hash that do not fit RSA-1024, inputs that are neither a hash nor a DigestInfo. */
    size_t hl = kt_hash(MBEDTLS_MD_SHA512, msg, sizeof(msg), h);
    size_t dl = kt_digest_info(MBEDTLS_MD_SHA512, h, di);
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x45, msg, sizeof(msg)), 0x6A80);
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x40, h, hl), 0x6A80);
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x40, di, dl), 0x6A80);
    static const size_t odd_lengths[] = {1, 16, 19, 21, 31, 33, 47, 65, 100};
    for (size_t i = 0; i < sizeof(odd_lengths) / sizeof(odd_lengths[0]); i++) {
        memset(in, 0x5A, odd_lengths[i]);
        CHECK_EQ_INT(kt_sign(RSA_ID, 0x40, in, odd_lengths[i]), 0x6A80);
    }
    /* A DigestInfo of MD5, and a SHA-256 DigestInfo holding 20 bytes. */
    static const uint8_t di_md5[] = {0x30, 0x20, 0x30, 0x0C, 0x06, 0x08, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D,
                                     0x02, 0x05, 0x05, 0x00, 0x04, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                     11, 12, 13, 14, 15, 16};
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x40, di_md5, sizeof(di_md5)), 0x6A80);
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    dl = kt_digest_info(MBEDTLS_MD_SHA256, h, di);
    di[1] -= 12, di[dl - 33] = 20; /* SEQUENCE length and OCTET STRING length */
    CHECK_EQ_INT(kt_sign(RSA_ID, 0x40, di, dl - 12), 0x6A80);

    /* ECDSA 70: 1..64 bytes. */
    memset(in, 0x42, 65);
    CHECK_EQ_INT(kt_sign(EC_ID, 0x70, in, 65), 0x6A80);
    CHECK_EQ_INT(kt_sign(EC_ID, 0x70, in, 64), 0x9000);
    CHECK_EQ_INT(kt_sign(EC_ID, 0x70, in, 1), 0x9000);

    /* ECDH points: uncompressed, on the curve, exactly 1 + 2 * 32 bytes. */
    uint8_t pt[140];
    memcpy(pt, ec.raw, 65);
    pt[64] ^= 0x01; /* y + 1 (or - 1): off the curve */
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 65), 0x6A80);
    memcpy(pt, ec.raw, 65);
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 64), 0x6A80);
    pt[65] = 0x00;
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 66), 0x6A80);
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt + 1, 64), 0x6A80); /* x || y without 04 */
    pt[0] = 0x02 | (ec.raw[64] & 1);
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 33), 0x6A80); /* compressed */
    pt[0] = 0x05;
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 65), 0x6A80);
    pt[0] = 0x00;
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 1), 0x6A80); /* the point at infinity */
    memset(pt, 0, 65), pt[0] = 0x04;
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 65), 0x6A80); /* (0, 0) */
    memcpy(pt, ec.raw, 65);                                   /* x = p: out of range */
    kt_domain d;
    kt_domain_of(MBEDTLS_ECP_DP_SECP256R1, &d);
    memcpy(pt + 1, d.p, 32);
    CHECK_EQ_INT(kt_decipher(EC_ID, 0x80, pt, 65), 0x6A80);
    /* X25519: 32 bytes; the low-order u values 0 and 1 are refused. */
    memcpy(pt, xk.raw, 32);
    CHECK_EQ_INT(kt_decipher(X_ID, 0x80, pt, 31), 0x6A80);
    CHECK_EQ_INT(kt_decipher(X_ID, 0x80, pt, 33), 0x6A80);
    CHECK_EQ_INT(kt_decipher(X_ID, 0x80, pt, 65), 0x6A80);
    memset(pt, 0, 32);
    CHECK_EQ_INT(kt_decipher(X_ID, 0x80, pt, 32), 0x6A80);
    pt[0] = 1;
    CHECK_EQ_INT(kt_decipher(X_ID, 0x80, pt, 32), 0x6A80);
    KEYS_WORK();
}

/* ---- policy: algorithm list, usage counter, delete -------------------------------------------- */

static void test_algorithm_list(void)
{
    kt_pub k;
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    const kt_opts only73 = {.extra = (const uint8_t *)"\x91\x01\x73", .extra_len = 3};
    CHECK_EQ_INT(kt_generate(0x10, &p256, &only73), 0x9000);
    CHECK(kt_check_answer(&p256, &only73, &k));
    CHECK(ec_works(0x10, &k));
    CHECK_EQ_INT(kt_sign(0x10, 0x70, h, 32), 0x6A81);
    CHECK_EQ_INT(kt_sign(0x10, 0x71, msg, sizeof(msg)), 0x6A81);
    CHECK_EQ_INT(kt_decipher(0x10, 0x80, ec.raw, ec.raw_len), 0x6A81);
    CHECK_EQ_INT(kt_sign(0x10, 0x20, h, 32), 0x6A81); /* wrong type stays 6A81 */
    CHECK(ec_works(0x10, &k));
    kt_pub_free(&k);

    /* RSA with 20 and 21: exactly those two. */
    const kt_opts raw_only = {.extra = (const uint8_t *)"\x91\x02\x20\x21", .extra_len = 4};
    CHECK_EQ_INT(kt_generate(0x11, &rsa1024, &raw_only), 0x9000);
    CHECK(kt_check_answer(&rsa1024, &raw_only, &k));
    uint8_t in[128] = {0};
    in[127] = 0x07;
    CHECK_EQ_INT(kt_sign(0x11, 0x20, in, 128), 0x9000);
    CHECK_EQ_INT(kt_decipher(0x11, 0x21, in, 128), 0x9000);
    CHECK_EQ_INT(kt_sign(0x11, 0x33, msg, sizeof(msg)), 0x6A81);
    CHECK_EQ_INT(kt_sign(0x11, 0x40, h, 32), 0x6A81);
    CHECK_EQ_INT(kt_decipher(0x11, 0x22, in, 128), 0x6A81);
    CHECK_EQ_INT(kt_decipher(0x11, 0x23, in, 128), 0x6A81);
    kt_pub_free(&k);

    /* ECDH-only X25519 key with an empty list means "every algorithm the type allows". */
    const kt_opts ecdh_only = {.extra = (const uint8_t *)"\x91\x01\x80", .extra_len = 3};
    CHECK_EQ_INT(kt_generate(0x12, &x25519, &ecdh_only), 0x9000);
    CHECK(kt_check_answer(&x25519, &ecdh_only, &k));
    CHECK(ecdh_works(0x12, &k));
    kt_pub_free(&k);
    KEYS_WORK();
}

static void test_usage_counter(void)
{
    kt_pub k;
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    /* Counter 2, list {73}: refusals (6A81 list, 6A81 type, 6A86 alg) spend nothing. */
    const kt_opts two = {.extra = (const uint8_t *)"\x90\x04\x00\x00\x00\x02\x91\x01\x73", .extra_len = 9};
    CHECK_EQ_INT(kt_generate(0x13, &p256, &two), 0x9000);
    CHECK(kt_check_answer(&p256, &two, &k));
    CHECK_EQ_INT(kt_record_counter(0x13), 2);
    CHECK_EQ_INT(kt_sign(0x13, 0x70, h, 32), 0x6A81);
    CHECK_EQ_INT(kt_sign(0x13, 0x33, msg, sizeof(msg)), 0x6A81);
    CHECK_EQ_INT(kt_sign(0x13, 0x76, msg, sizeof(msg)), 0x6A86);
    CHECK_EQ_INT(kt_decipher(0x13, 0x80, ec.raw, ec.raw_len), 0x6A81);
    CHECK_EQ_INT(kt_record_counter(0x13), 2);
    CHECK(ec_works(0x13, &k));
    CHECK_EQ_INT(kt_record_counter(0x13), 1);
    /* The counter is in flash: it survives a power cycle. */
    kt_remount();
    kt_login();
    CHECK(ec_works(0x13, &k));
    CHECK_EQ_INT(kt_record_counter(0x13), 0);
    CHECK_EQ_INT(kt_sign(0x13, 0x73, msg, sizeof(msg)), 0x6984);
    CHECK_EQ_INT(kt_sign(0x13, 0x70, h, 32), 0x6A81); /* the list is still checked first */
    kt_remount();
    kt_login();
    CHECK_EQ_INT(kt_sign(0x13, 0x73, msg, sizeof(msg)), 0x6984);
    CHECK_EQ_INT(kt_record_counter(0x13), 0);
    kt_pub_free(&k);

    /* A one-byte counter on ECDH: a bad point spends nothing; one use, then 6984. */
    const kt_opts one = {.extra = (const uint8_t *)"\x90\x01\x01", .extra_len = 3};
    CHECK_EQ_INT(kt_generate(0x14, &p256, &one), 0x9000);
    CHECK(kt_check_answer(&p256, &one, &k));
    uint8_t pt[65];
    memcpy(pt, ec.raw, 65);
    pt[64] ^= 1;
    CHECK_EQ_INT(kt_decipher(0x14, 0x80, pt, 65), 0x6A80);
    CHECK(ecdh_works(0x14, &k));
    CHECK(!ecdh_works(0x14, &k));
    CHECK_EQ_INT(kt_decipher(0x14, 0x80, ec.raw, ec.raw_len), 0x6984);
    CHECK_EQ_INT(kt_sign(0x14, 0x73, msg, sizeof(msg)), 0x6984);
    kt_pub_free(&k);

    /* RSA decipher: a ciphertext that does not unpad is a completed private operation, so it
     * counts (keys.c); a malformed input (>= N) does not. */
    const kt_opts rsa_two = {.extra = (const uint8_t *)"\x90\x02\x00\x02", .extra_len = 4};
    CHECK_EQ_INT(kt_generate(0x15, &rsa1024, &rsa_two), 0x9000);
    CHECK(kt_check_answer(&rsa1024, &rsa_two, &k));
    uint8_t c[128];
    memset(c, 0xFF, sizeof(c));
    CHECK_EQ_INT(kt_decipher(0x15, 0x22, c, 128), 0x6A80);
    CHECK_EQ_INT(kt_record_counter(0x15), 2);
    memset(c, 0x00, sizeof(c)), c[127] = 0x05; /* 5^d: no valid v1.5 padding */
    CHECK_EQ_INT(kt_decipher(0x15, 0x22, c, 128), 0x6A80);
    CHECK_EQ_INT(kt_record_counter(0x15), 1);
    CHECK(rsa_works(0x15, &k));
    CHECK_EQ_INT(kt_sign(0x15, 0x33, msg, sizeof(msg)), 0x6984);
    kt_pub_free(&k);

    /* Counter 0 from the request: the key never works. */
    const kt_opts zero = {.extra = (const uint8_t *)"\x90\x01\x00", .extra_len = 3};
    CHECK_EQ_INT(kt_generate(0x16, &p256, &zero), 0x9000);
    CHECK(kt_check_answer(&p256, &zero, &k));
    CHECK_EQ_INT(kt_sign(0x16, 0x73, msg, sizeof(msg)), 0x6984);
    kt_pub_free(&k);
    KEYS_WORK();
}

static void test_delete(void)
{
    kt_pub k;
    CHECK_EQ_INT(kt_generate(0x17, &p256, NULL), 0x9000);
    CHECK(kt_check_answer(&p256, NULL, &k));
    CHECK(ec_works(0x17, &k));
    CHECK(key_stored(0x17));
    /* Not without the PIN. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x17), 0x6982);
    kt_login();
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x17), 0x9000);
    CHECK(!key_stored(0x17));
    CHECK_EQ_INT(kt_sign(0x17, 0x73, msg, sizeof(msg)), 0x6A82);
    CHECK_EQ_INT(kt_decipher(0x17, 0x80, ec.raw, ec.raw_len), 0x6A82);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x17), 0x6A82);
    CHECK_EQ_INT(KT_TX(0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00), 0x9000);
    for (size_t i = 0; i + 1 < kt_data_len(); i += 2) {
        CHECK(!(kt_resp[i] == 0xCC && kt_resp[i + 1] == 0x17));
    }
    /* The number can be used again. */
    kt_pub_free(&k);
    CHECK_EQ_INT(kt_generate(0x17, &rsa1024, NULL), 0x9000);
    CHECK(kt_check_answer(&rsa1024, NULL, &k));
    CHECK(rsa_works(0x17, &k));
    kt_pub_free(&k);
    KEYS_WORK();
}

/* ---- power cut --------------------------------------------------------------------------------- */

/* Power cut at the n-th flash operation of a SIGN on a key with 3 uses left, for every n the
 * command performs (and one beyond). Afterwards: if the card answered with a signature, the
 * record in flash already says 2; if it did not, it says 3 or 2 (a lost use is acceptable, a
 * free one is not), and the key gives exactly that many more signatures. */
static void test_power_cut_counter(void)
{
    const kt_opts three = {.extra = (const uint8_t *)"\x90\x01\x03", .extra_len = 3};
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    kt_pub k;

    kt_power_up();
    CHECK_EQ_INT(kt_generate(0x01, &p256, &three), 0x9000);
    uint32_t before = ram_port_flash_ops();
    CHECK_EQ_INT(kt_sign(0x01, 0x73, msg, sizeof(msg)), 0x9000);
    uint32_t ops = ram_port_flash_ops() - before;
    CHECK(ops >= 1);
    printf("SIGN with a usage counter: %u flash operations\n", (unsigned)ops);

    unsigned answered = 0, refused = 0;
    for (uint32_t cut = 1; cut <= ops + 1; cut++) {
        kt_power_up();
        CHECK_EQ_INT(kt_generate(0x01, &p256, &three), 0x9000);
        CHECK(kt_check_answer(&p256, &three, &k));
        ram_port_cut_after(cut, 0xC0FFEE + cut);
        uint16_t sw = kt_sign(0x01, 0x73, msg, sizeof(msg));
        bool sig_ok = sw == 0x9000 && kt_ecdsa_ok(&k, h, 32, kt_resp, kt_data_len(), true);
        ram_port_cut_after(0, 0);
        kt_remount();
        uint32_t left = kt_record_counter(0x01);
        if (sw == 0x9000) {
            answered++;
            CHECK(sig_ok);
            CHECK_EQ_INT(left, 2);
        } else {
            refused++;
            CHECK_EQ_INT(sw, 0x6581);
            CHECK(left == 3 || left == 2);
        }
        if (left > 3) {
            fprintf(stderr, "cut %u: sw %04X, counter %u\n", (unsigned)cut, sw, (unsigned)left);
            left = 3;
        }
        kt_login();
        for (uint32_t u = 0; u < left; u++) {
            CHECK(ec_works(0x01, &k));
        }
        CHECK_EQ_INT(kt_sign(0x01, 0x73, msg, sizeof(msg)), 0x6984);
        kt_pub_free(&k);
    }
    CHECK(answered >= 1 && refused >= 1);
    printf("power cuts: %u answered (counter already written), %u refused\n", answered, refused);
}

/* The same where the counter's rewrite finds the store full and collects a sector first (erases
 * and copies, torn erases included): a region of 6 sectors, the key signed until the SIGN that
 * erases, then a cut at each of that SIGN's flash operations. */
static void test_power_cut_counter_gc(void)
{
    const kt_opts many = {.extra = (const uint8_t *)"\x90\x02\x10\x00", .extra_len = 4}; /* 4096 */
    kt_pub k;
    CHECK_EQ_INT(ram_port_set_size(6 * HSM_FLASH_ERASE_SIZE), HSM_OK);

    kt_power_up();
    CHECK_EQ_INT(kt_generate(0x01, &p256, &many), 0x9000);
    unsigned j = 0;
    uint32_t ops = 0;
    for (unsigned i = 1; i <= 1000 && j == 0; i++) {
        uint32_t o = ram_port_flash_ops(), e = ram_port_flash_erases();
        CHECK_EQ_INT(kt_sign(0x01, 0x73, msg, sizeof(msg)), 0x9000);
        if (ram_port_flash_erases() != e) {
            j = i;
            ops = ram_port_flash_ops() - o;
        }
    }
    CHECK(j > 0 && ops > 2);
    printf("SIGN no. %u collects a sector: %u flash operations\n", j, (unsigned)ops);

    unsigned answered = 0, refused = 0;
    for (uint32_t cut = 1; j > 0 && cut <= ops + 1; cut++) {
        kt_power_up();
        CHECK_EQ_INT(kt_generate(0x01, &p256, &many), 0x9000);
        CHECK(kt_check_answer(&p256, &many, &k));
        for (unsigned i = 1; i < j; i++) {
            CHECK_EQ_INT(kt_sign(0x01, 0x73, msg, sizeof(msg)), 0x9000);
        }
        const uint32_t before = 4096 - (j - 1);
        ram_port_cut_after(cut, 0xBADC0DE + cut);
        uint16_t sw = kt_sign(0x01, 0x73, msg, sizeof(msg));
        uint8_t h[32];
        kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
        bool sig_ok = sw == 0x9000 && kt_ecdsa_ok(&k, h, 32, kt_resp, kt_data_len(), true);
        ram_port_cut_after(0, 0);
        kt_remount();
        uint32_t left = kt_record_counter(0x01);
        if (sw == 0x9000) {
            answered++;
            CHECK(sig_ok);
            CHECK_EQ_INT(left, before - 1);
        } else {
            refused++;
            CHECK_EQ_INT(sw, 0x6581);
            CHECK(left == before || left == before - 1);
        }
        /* The key works on, and the next use is counted from what flash says. */
        kt_login();
        CHECK(ec_works(0x01, &k));
        CHECK_EQ_INT(kt_record_counter(0x01), left - 1);
        kt_pub_free(&k);
    }
    CHECK(answered >= 1 && refused >= 1);
    printf("power cuts during collection: %u answered, %u refused\n", answered, refused);
    CHECK_EQ_INT(ram_port_set_size(256 * 1024), HSM_OK);
}

int main(void)
{
    double t0 = kt_now();
    setup();
    test_access();
    test_gakp_refused();
    test_bad_inputs();
    test_algorithm_list();
    test_usage_counter();
    test_delete();
    test_power_cut_counter();
    test_power_cut_counter_gc();
    kt_pub_free(&rsa);
    kt_pub_free(&ec);
    kt_pub_free(&xk);
    printf("total %.2f s\n", kt_now() - t0);
    return CHECK_DONE();
}
