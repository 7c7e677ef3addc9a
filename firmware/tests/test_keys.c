/* test_keys.c — GENERATE ASYMMETRIC KEY PAIR, SIGN and DECIPHER through the card's APDU entry
 * point, as OpenSC sends them (core spec 2.11-2.13, ext. spec 5.2/5.2.1), for every key type the
 * card generates except RSA-4096 (test_keys_rsa4096.c: it is slow):
 *   - generation: the answer's exact structure and both signatures (keys_common.h), and the
 *     time of each RSA size (printed, not asserted);
 *   - SIGN with every algorithm byte on every key type it applies to, checked with mbedTLS
 *     public-key operations on the returned public key, plus cross-checks between algorithms
 *     that must agree byte for byte (PKCS#1 v1.5 is deterministic; raw SIGN 20 and raw
 *     DECIPHER 21 are the same private operation);
 *   - DECIPHER: RSA raw (leading zeros kept), PKCS#1 v1.5, OAEP; ECDH on every curve against
 *     the test's own ECDH from an ephemeral key, whose X25519/X448 side is first checked
 *     against RFC 7748;
 *   - keys at rest: no private value, nor any 16-byte window of one, in the raw flash. */
#include "keys_common.h"

static const kt_type types[] = {
    {"RSA-1024", KT_RSA, 1024, MBEDTLS_ECP_DP_NONE},
    {"RSA-2048", KT_RSA, 2048, MBEDTLS_ECP_DP_NONE},
    {"RSA-3072", KT_RSA, 3072, MBEDTLS_ECP_DP_NONE},
    {"secp192r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP192R1},
    {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1},
    {"secp384r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP384R1},
    {"secp521r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP521R1},
    {"brainpoolP256r1", KT_EC, 0, MBEDTLS_ECP_DP_BP256R1},
    {"brainpoolP384r1", KT_EC, 0, MBEDTLS_ECP_DP_BP384R1},
    {"brainpoolP512r1", KT_EC, 0, MBEDTLS_ECP_DP_BP512R1},
    {"secp192k1", KT_EC, 0, MBEDTLS_ECP_DP_SECP192K1},
    {"secp256k1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256K1},
    {"X25519", KT_MONT, 0, MBEDTLS_ECP_DP_CURVE25519},
    {"X448", KT_MONT, 0, MBEDTLS_ECP_DP_CURVE448},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))
#define ID(i) ((uint8_t)((i) + 1)) /* key number of types[i] */

static kt_pub pubs[NTYPES];
static bool generated[NTYPES];

static uint8_t msg[65535];
static uint8_t in[65535];
static uint8_t out[1024];

/* ---- generation ---------------------------------------------------------------------------- */

static void test_generate(void)
{
    for (size_t i = 0; i < NTYPES; i++) {
        const kt_type *t = &types[i];
        double t0 = kt_now();
        uint16_t sw = kt_generate(ID(i), t, NULL);
        double dt = kt_now() - t0;
        CHECK_EQ_INT(sw, 0x9000);
        if (sw != 0x9000) {
            fprintf(stderr, "%s: GAKP %04X\n", t->name, sw);
            continue;
        }
        size_t len = kt_data_len();
        generated[i] = kt_check_answer(t, NULL, &pubs[i]);
        CHECK(generated[i]);
        printf("generate %-16s %7.3f s  answer %4zu bytes%s\n", t->name, dt, len,
               generated[i] ? "" : "  FAILED");
    }
    /* Every key is listed by ENUMERATE OBJECTS, after the device key, and so is its
     * attestation CE<id> (ext. spec 5.4), which holds exactly the answer. */
    CHECK_EQ_INT(KT_TX(0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 2 * (2 * NTYPES + 1));
    for (size_t i = 0; i < NTYPES; i++) {
        CHECK(kt_resp[2 + 2 * i] == 0xCC && kt_resp[3 + 2 * i] == ID(i));
        CHECK(kt_resp[2 + 2 * (NTYPES + i)] == 0xCE && kt_resp[3 + 2 * (NTYPES + i)] == ID(i));
    }
}

/* Without 42 the inner CAR is the device CHR (Pico); a second GAKP on a number replaces the key. */
static void test_generate_variants(void)
{
    const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};
    const kt_opts no_car = {.no_car = true};
    kt_pub a, b;
    CHECK_EQ_INT(kt_generate(0x40, &p256, &no_car), 0x9000);
    CHECK(kt_check_answer(&p256, &no_car, &a));
    CHECK_EQ_INT(kt_generate(0x40, &p256, NULL), 0x9000);
    CHECK(kt_check_answer(&p256, NULL, &b));
    CHECK(a.raw_len == b.raw_len && memcmp(a.raw, b.raw, a.raw_len) != 0);
    uint8_t h[32];
    kt_hash(MBEDTLS_MD_SHA256, (const uint8_t *)"replaced", 8, h);
    CHECK_EQ_INT(kt_sign(0x40, 0x70, h, 32), 0x9000);
    CHECK(kt_ecdsa_ok(&b, h, 32, kt_resp, kt_data_len(), true));
    CHECK(!kt_ecdsa_ok(&a, h, 32, kt_resp, kt_data_len(), true));
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x40), 0x9000);
    kt_pub_free(&a);
    kt_pub_free(&b);
}

/* ---- SIGN ------------------------------------------------------------------------------------ */

typedef enum {
    IN_MSG,        /* the message; the card hashes */
    IN_HASH,       /* the bare hash */
    IN_HASH_FIELD, /* the hash truncated to the field length, as OpenSC's CKM_ECDSA does */
    IN_DI,         /* DigestInfo of the hash */
    IN_PKCS1,      /* EMSA-PKCS1-v1_5 block of the DigestInfo, modulus length (OpenSC's RSA-PKCS) */
} in_kind;

typedef enum { V_V15, V_PSS, V_ECDSA } verify_kind;

typedef struct {
    uint8_t alg;
    in_kind in;
    mbedtls_md_type_t md;
    verify_kind v;
} sign_case;

#define SHA1 MBEDTLS_MD_SHA1
#define SHA224 MBEDTLS_MD_SHA224
#define SHA256 MBEDTLS_MD_SHA256
#define SHA384 MBEDTLS_MD_SHA384
#define SHA512 MBEDTLS_MD_SHA512

static const sign_case rsa_cases[] = {
    {0x20, IN_PKCS1, SHA256, V_V15}, {0x20, IN_PKCS1, SHA1, V_V15}, {0x20, IN_PKCS1, SHA512, V_V15},
    {0x30, IN_DI, SHA1, V_V15},      {0x30, IN_DI, SHA224, V_V15},  {0x30, IN_DI, SHA256, V_V15},
    {0x30, IN_DI, SHA384, V_V15},    {0x30, IN_DI, SHA512, V_V15},
    {0x31, IN_MSG, SHA1, V_V15},     {0x32, IN_MSG, SHA224, V_V15}, {0x33, IN_MSG, SHA256, V_V15},
    {0x34, IN_MSG, SHA384, V_V15},   {0x35, IN_MSG, SHA512, V_V15},
    {0x40, IN_HASH, SHA1, V_PSS},    {0x40, IN_HASH, SHA224, V_PSS}, {0x40, IN_HASH, SHA256, V_PSS},
    {0x40, IN_HASH, SHA384, V_PSS},  {0x40, IN_HASH, SHA512, V_PSS},
    {0x40, IN_DI, SHA1, V_PSS},      {0x40, IN_DI, SHA224, V_PSS},  {0x40, IN_DI, SHA256, V_PSS},
    {0x40, IN_DI, SHA384, V_PSS},    {0x40, IN_DI, SHA512, V_PSS},
    {0x41, IN_MSG, SHA1, V_PSS},     {0x42, IN_MSG, SHA224, V_PSS}, {0x43, IN_MSG, SHA256, V_PSS},
    {0x44, IN_MSG, SHA384, V_PSS},   {0x45, IN_MSG, SHA512, V_PSS},
};

static const sign_case ec_cases[] = {
    {0x70, IN_HASH, SHA1, V_ECDSA},   {0x70, IN_HASH, SHA224, V_ECDSA}, {0x70, IN_HASH, SHA256, V_ECDSA},
    {0x70, IN_HASH, SHA384, V_ECDSA}, {0x70, IN_HASH, SHA512, V_ECDSA},
    {0x70, IN_HASH_FIELD, SHA256, V_ECDSA}, {0x70, IN_HASH_FIELD, SHA384, V_ECDSA},
    {0x70, IN_HASH_FIELD, SHA512, V_ECDSA},
    {0x71, IN_MSG, SHA1, V_ECDSA},   {0x72, IN_MSG, SHA224, V_ECDSA}, {0x73, IN_MSG, SHA256, V_ECDSA},
    {0x74, IN_MSG, SHA384, V_ECDSA}, {0x75, IN_MSG, SHA512, V_ECDSA},
};

/* Runs one case on key i with the first mlen bytes of msg; false when the card refused. */
static bool sign_case_run(size_t i, const sign_case *c, size_t mlen)
{
    kt_pub *k = &pubs[i];
    uint8_t h[64], di[128];
    size_t hlen = kt_hash(c->md, msg, mlen, h);
    size_t dlen = kt_digest_info(c->md, h, di);
    size_t n = 0;
    switch (c->in) {
    case IN_MSG: memcpy(in, msg, mlen), n = mlen; break;
    case IN_HASH: memcpy(in, h, hlen), n = hlen; break;
    case IN_HASH_FIELD:
        n = hlen < k->len ? hlen : k->len;
        memcpy(in, h, n);
        hlen = n; /* what was signed is the truncated value */
        break;
    case IN_DI: memcpy(in, di, dlen), n = dlen; break;
    case IN_PKCS1: kt_pkcs1_block(di, dlen, in, k->len), n = k->len; break;
    }
    /* PSS needs emLen >= 2 * hLen + 2 with salt = hash length: SHA-512 on RSA-1024 cannot. */
    bool fits = c->v != V_PSS || k->len >= 2 * hlen + 2;
    uint16_t sw = kt_sign(ID(i), c->alg, in, n);
    CHECK_EQ_INT(sw, fits ? 0x9000 : 0x6A80);
    bool ok = false;
    if (sw == 0x9000) {
        size_t slen = kt_data_len();
        if (c->v == V_V15) ok = kt_v15_ok(k, c->md, h, hlen, kt_resp, slen);
        if (c->v == V_PSS) ok = kt_pss_ok(k, c->md, h, hlen, kt_resp, slen);
        if (c->v == V_ECDSA) ok = kt_ecdsa_ok(k, h, hlen, kt_resp, slen, true);
        CHECK(ok);
    }
    if ((fits && !ok) || (!fits && sw != 0x6A80)) {
        fprintf(stderr, "%s: SIGN %02X in %d md %d: sw %04X\n", types[i].name, c->alg, c->in,
                (int)c->md, sw);
    }
    return sw == 0x9000;
}

static void test_sign(void)
{
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)(i * 31 + (i >> 8));
    }
    for (size_t i = 0; i < NTYPES; i++) {
        if (!generated[i] || types[i].kind == KT_MONT) {
            continue;
        }
        const sign_case *cases = types[i].kind == KT_RSA ? rsa_cases : ec_cases;
        size_t nc = types[i].kind == KT_RSA ? sizeof(rsa_cases) / sizeof(rsa_cases[0])
                                            : sizeof(ec_cases) / sizeof(ec_cases[0]);
        for (size_t c = 0; c < nc; c++) {
            sign_case_run(i, &cases[c], 1000);
        }
        /* Short and maximal messages (one APDU of 65535 bytes) with hash-on-card. */
        const sign_case *sha256 = types[i].kind == KT_RSA ? &rsa_cases[10] : &ec_cases[10];
        CHECK_EQ_INT(sha256->alg, types[i].kind == KT_RSA ? 0x33 : 0x73);
        sign_case_run(i, sha256, 1);
        sign_case_run(i, sha256, sizeof(msg));
    }
}

/* Algorithms that must agree: PKCS#1 v1.5 is deterministic, so 20 on the padded block, 30 on the
 * DigestInfo and 3x on the message give the same bytes; SIGN 20 and DECIPHER 21 are both x^d. */
static void test_sign_cross_checks(void)
{
    static uint8_t s20[512], s30[512], s33[512], x[512];
    for (size_t i = 0; i < NTYPES; i++) {
        if (!generated[i] || types[i].kind != KT_RSA) {
            continue;
        }
        kt_pub *k = &pubs[i];
        const mbedtls_md_type_t mds[] = {SHA1, SHA256, SHA512};
        const uint8_t hash_on_card[] = {0x31, 0x33, 0x35};
        for (size_t m = 0; m < 3; m++) {
            uint8_t h[64], di[128];
            size_t hlen = kt_hash(mds[m], msg, 777, h), dlen = kt_digest_info(mds[m], h, di);
            kt_pkcs1_block(di, dlen, in, k->len);
            CHECK_EQ_INT(kt_sign(ID(i), 0x20, in, k->len), 0x9000);
            memcpy(s20, kt_resp, k->len);
            CHECK_EQ_INT(kt_sign(ID(i), 0x30, di, dlen), 0x9000);
            memcpy(s30, kt_resp, k->len);
            CHECK_EQ_INT(kt_sign(ID(i), hash_on_card[m], msg, 777), 0x9000);
            memcpy(s33, kt_resp, k->len);
            CHECK_MEM(s20, s30, k->len);
            CHECK_MEM(s20, s33, k->len);
            CHECK(kt_v15_ok(k, mds[m], h, hlen, s20, k->len));
        }
        /* Raw: s = x^d with x < N, here with two leading zero bytes; s^e = x, and 21 on the
         * same input answers the same s. */
        x[0] = x[1] = 0x00;
        kt_rng(NULL, x + 2, k->len - 2);
        CHECK_EQ_INT(kt_sign(ID(i), 0x20, x, k->len), 0x9000);
        CHECK_EQ_INT(kt_data_len(), k->len);
        memcpy(s20, kt_resp, k->len);
        CHECK_EQ_INT(mbedtls_rsa_public(&k->rsa, s20, out), 0);
        CHECK_MEM(out, x, k->len);
        CHECK_EQ_INT(kt_decipher(ID(i), 0x21, x, k->len), 0x9000);
        CHECK_EQ_INT(kt_data_len(), k->len);
        CHECK_MEM(kt_resp, s20, k->len);
        /* PSS is randomised: two signatures differ and both verify. */
        uint8_t h[32];
        kt_hash(SHA256, msg, 100, h);
        CHECK_EQ_INT(kt_sign(ID(i), 0x40, h, 32), 0x9000);
        memcpy(s30, kt_resp, k->len);
        CHECK_EQ_INT(kt_sign(ID(i), 0x43, msg, 100), 0x9000);
        CHECK(memcmp(s30, kt_resp, k->len) != 0);
        CHECK(kt_pss_ok(k, SHA256, h, 32, s30, k->len));
        CHECK(kt_pss_ok(k, SHA256, h, 32, kt_resp, k->len));
    }
    /* ECDSA: 70 on SHA-256(m) and 73 on m both verify as ECDSA-SHA-256 of m. */
    for (size_t i = 0; i < NTYPES; i++) {
        if (!generated[i] || types[i].kind != KT_EC) {
            continue;
        }
        uint8_t h[32];
        kt_hash(SHA256, msg, 333, h);
        CHECK_EQ_INT(kt_sign(ID(i), 0x70, h, 32), 0x9000);
        CHECK(kt_ecdsa_ok(&pubs[i], h, 32, kt_resp, kt_data_len(), true));
        CHECK_EQ_INT(kt_sign(ID(i), 0x73, msg, 333), 0x9000);
        CHECK(kt_ecdsa_ok(&pubs[i], h, 32, kt_resp, kt_data_len(), true));
    }
}

/* ---- DECIPHER -------------------------------------------------------------------------------- */

static void decipher_rsa(size_t i)
{
    kt_pub *k = &pubs[i];
    static uint8_t m[512], c[512];
    /* 21 raw: c^d mod n at exactly the modulus length, leading zeros included. */
    const size_t zeros[] = {2, 5, 0};
    for (size_t z = 0; z < 3; z++) {
        size_t nz = zeros[z] ? zeros[z] : k->len - 1; /* the last: the number 2 */
        memset(m, 0, nz);
        kt_rng(NULL, m + nz, k->len - nz);
        if (zeros[z] == 0) m[k->len - 1] = 0x02;
        CHECK_EQ_INT(mbedtls_rsa_public(&k->rsa, m, c), 0);
        CHECK_EQ_INT(kt_decipher(ID(i), 0x21, c, k->len), 0x9000);
        CHECK_EQ_INT(kt_data_len(), k->len);
        CHECK_MEM(kt_resp, m, k->len);
    }
    /* 22 PKCS#1 v1.5 and 23 OAEP (SHA-256, MGF1-SHA-256, empty label): the plaintext. */
    const size_t v15_lens[] = {1, 32, k->len - 11};
    for (size_t j = 0; j < 3; j++) {
        kt_rng(NULL, m, v15_lens[j]);
        CHECK_EQ_INT(mbedtls_rsa_set_padding(&k->rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE), 0);
        CHECK_EQ_INT(mbedtls_rsa_rsaes_pkcs1_v15_encrypt(&k->rsa, kt_rng, NULL, v15_lens[j], m, c), 0);
        CHECK_EQ_INT(kt_decipher(ID(i), 0x22, c, k->len), 0x9000);
        CHECK_EQ_INT(kt_data_len(), v15_lens[j]);
        CHECK_MEM(kt_resp, m, v15_lens[j]);
    }
    const size_t oaep_lens[] = {0, 32, k->len - 2 * 32 - 2};
    for (size_t j = 0; j < 3; j++) {
        kt_rng(NULL, m, oaep_lens[j]);
        CHECK_EQ_INT(mbedtls_rsa_set_padding(&k->rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256), 0);
        CHECK_EQ_INT(mbedtls_rsa_rsaes_oaep_encrypt(&k->rsa, kt_rng, NULL, NULL, 0, oaep_lens[j], m, c), 0);
        CHECK_EQ_INT(kt_decipher(ID(i), 0x23, c, k->len), 0x9000);
        CHECK_EQ_INT(kt_data_len(), oaep_lens[j]);
        CHECK_MEM(kt_resp, m, oaep_lens[j]);
    }
    /* A v1.5 ciphertext given to 23 (and an OAEP one to 22) does not decrypt. */
    CHECK_EQ_INT(kt_decipher(ID(i), 0x22, c, k->len), 0x6A80);
    CHECK_EQ_INT(mbedtls_rsa_set_padding(&k->rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE), 0);
}

/* The test side's ECDH: z = d * Q, written as the card does (big-endian x, or little-endian u). */
static void ecdh_expect(mbedtls_ecp_group *g, const mbedtls_mpi *d, const mbedtls_ecp_point *Q,
                        uint8_t *z_out, size_t len)
{
    mbedtls_mpi z;
    mbedtls_mpi_init(&z);
    CHECK_EQ_INT(mbedtls_ecdh_compute_shared(g, &z, Q, d, kt_rng, NULL), 0);
    if (mbedtls_ecp_get_type(g) == MBEDTLS_ECP_TYPE_MONTGOMERY) {
        CHECK_EQ_INT(mbedtls_mpi_write_binary_le(&z, z_out, len), 0);
    } else {
        CHECK_EQ_INT(mbedtls_mpi_write_binary(&z, z_out, len), 0);
    }
    mbedtls_mpi_free(&z);
}

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* X25519(k, u) / X448(k, u) with the test's primitive, all little-endian as in RFC 7748. */
static void x_mont(mbedtls_ecp_group_id id, const uint8_t *k, const uint8_t *u, size_t len, uint8_t *z)
{
    mbedtls_ecp_keypair kp;
    mbedtls_ecp_point P;
    mbedtls_ecp_keypair_init(&kp);
    mbedtls_ecp_point_init(&P);
    CHECK_EQ_INT(mbedtls_ecp_read_key(id, &kp, k, len), 0); /* clamps as RFC 7748 decodeScalar */
    CHECK_EQ_INT(mbedtls_ecp_point_read_binary(&kp.grp, &P, u, len), 0);
    ecdh_expect(&kp.grp, &kp.d, &P, z, len);
    mbedtls_ecp_point_free(&P);
    mbedtls_ecp_keypair_free(&kp);
}

/* The test's X25519/X448 against RFC 7748 (section 5.2 first vectors, section 6.1 shared secret),
 * so the little-endian conventions the card is compared with are the standard ones. */
static void test_rfc7748_primitive(void)
{
    static const struct { mbedtls_ecp_group_id id; const char *k, *u, *z; } v[] = {
        {MBEDTLS_ECP_DP_CURVE25519,
         "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        {MBEDTLS_ECP_DP_CURVE448,
         "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
         "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086",
         "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f"},
        /* 6.1: Alice's private key with Bob's public key. */
        {MBEDTLS_ECP_DP_CURVE25519,
         "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
         "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
         "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t k[56], u[56], z[56], got[56];
        size_t n = unhex(v[i].k, k);
        CHECK_EQ_INT(unhex(v[i].u, u), n);
        CHECK_EQ_INT(unhex(v[i].z, z), n);
        x_mont(v[i].id, k, u, n, got);
        CHECK_MEM(got, z, n);
    }
}

static void ecdh(size_t i)
{
    kt_pub *k = &pubs[i];
    mbedtls_mpi d;
    mbedtls_ecp_point Q;
    uint8_t pt[1 + 2 * KT_FIELD_MAX], z[KT_FIELD_MAX];
    size_t plen;
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&Q);
    for (int round = 0; round < 2; round++) {
        CHECK_EQ_INT(mbedtls_ecp_gen_keypair(&k->grp, &d, &Q, kt_rng, NULL), 0);
        CHECK_EQ_INT(mbedtls_ecp_point_write_binary(&k->grp, &Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &plen, pt,
                                                    sizeof(pt)),
                     0);
        CHECK_EQ_INT(plen, k->kind == KT_MONT ? k->len : 1 + 2 * k->len);
        ecdh_expect(&k->grp, &d, &k->Q, z, k->len);
        CHECK_EQ_INT(kt_decipher(ID(i), 0x80, pt, plen), 0x9000);
        CHECK_EQ_INT(kt_data_len(), 1 + k->len); /* 04 || x (field length) / 04 || u */
        CHECK(kt_resp[0] == 0x04 && memcmp(kt_resp + 1, z, k->len) == 0);
        if (kt_resp[0] != 0x04 || memcmp(kt_resp + 1, z, k->len) != 0) {
            fprintf(stderr, "%s: ECDH mismatch\n", types[i].name);
        }
    }
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&Q);
}

static void test_decipher(void)
{
    test_rfc7748_primitive();
    for (size_t i = 0; i < NTYPES; i++) {
        if (!generated[i]) {
            continue;
        }
        if (types[i].kind == KT_RSA) {
            decipher_rsa(i);
        } else {
            ecdh(i);
        }
    }
}

/* ---- keys at rest ---------------------------------------------------------------------------- */

#define WIN 16u

static uint8_t wins[40000][WIN];
static size_t nwins;

static void add_windows(const uint8_t *v, size_t len)
{
    for (size_t o = 0; o + WIN <= len && nwins < sizeof(wins) / sizeof(wins[0]); o++) {
        memcpy(wins[nwins++], v + o, WIN);
    }
}

static int cmp_win(const void *a, const void *b)
{
    return memcmp(a, b, WIN);
}

/* Number of flash offsets whose 16 bytes equal one of the windows. */
static size_t flash_hits(void)
{
    static uint8_t img[1024 * 1024];
    size_t n = kt_flash_image(img, sizeof(img)), hits = 0;
    qsort(wins, nwins, WIN, cmp_win);
    for (size_t o = 0; o + WIN <= n; o++) {
        if (bsearch(img + o, wins, nwins, WIN, cmp_win) != NULL) {
            hits++;
        }
    }
    return hits;
}

/* Recovers every generated key's private values through production code (the record, exposed
 * with the session keys a PIN gives), checks they really are the key (p * q = n, d * G = Q), and
 * looks for them in the raw flash. */
static void test_no_private_key_in_flash(void)
{
    static uint8_t rec[4096];
    size_t nsecrets = 0;
    nwins = 0;
    for (size_t i = 0; i < NTYPES; i++) {
        if (!generated[i]) {
            continue;
        }
        size_t n = kt_expose_record(ID(i), rec, sizeof(rec));
        CHECK(n > 0);
        hsm_tlv t;
        if (types[i].kind == KT_RSA) {
            mbedtls_mpi N, P, Q, PQ;
            mbedtls_mpi_init(&N), mbedtls_mpi_init(&P), mbedtls_mpi_init(&Q), mbedtls_mpi_init(&PQ);
            /* Every value after E in the record (P, Q, D, DP, DQ, QP) is secret. */
            CHECK(hsm_tlv_find(rec, n, 0x81, &t) == 1 && t.len == pubs[i].len &&
                  memcmp(t.value, pubs[i].raw, t.len) == 0);
            for (uint32_t tag = 0x83; tag <= 0x88; tag++) {
                CHECK(hsm_tlv_find(rec, n, tag, &t) == 1 && t.len >= WIN);
                add_windows(t.value, t.len);
                nsecrets++;
                if (tag == 0x83) mbedtls_mpi_read_binary(&P, t.value, t.len);
                if (tag == 0x84) mbedtls_mpi_read_binary(&Q, t.value, t.len);
            }
            CHECK_EQ_INT(mbedtls_mpi_mul_mpi(&PQ, &P, &Q), 0);
            CHECK_EQ_INT(mbedtls_mpi_cmp_mpi(&PQ, &pubs[i].rsa.N), 0);
            /* (The modulus is public and in flash on purpose: CE<id> holds the attestation.) */
            mbedtls_mpi_free(&N), mbedtls_mpi_free(&P), mbedtls_mpi_free(&Q), mbedtls_mpi_free(&PQ);
        } else {
            mbedtls_ecp_keypair kp;
            mbedtls_ecp_keypair_init(&kp);
            CHECK(hsm_tlv_find(rec, n, 0x81, &t) == 1 && t.len >= WIN);
            CHECK_EQ_INT(mbedtls_ecp_read_key(types[i].grp, &kp, t.value, t.len), 0);
            CHECK_EQ_INT(mbedtls_ecp_mul(&kp.grp, &kp.Q, &kp.d, &kp.grp.G, kt_rng, NULL), 0);
            CHECK_EQ_INT(mbedtls_ecp_point_cmp(&kp.Q, &pubs[i].Q), 0);
            add_windows(t.value, t.len);
            nsecrets++;
            /* Also as the other byte order, in case a copy were written reversed. */
            uint8_t rev[KT_FIELD_MAX];
            for (size_t j = 0; j < t.len && j < sizeof(rev); j++) rev[j] = t.value[t.len - 1 - j];
            add_windows(rev, t.len);
            mbedtls_ecp_keypair_free(&kp);
        }
    }
    CHECK(nsecrets >= 3 * 6 + 11);
    CHECK_EQ_INT(flash_hits(), 0);

    /* The scan works: a public data object's bytes, and the sealed records themselves, are found. */
    static const uint8_t marker[WIN] = "public-16-bytes!";
    uint8_t cmd[11 + WIN] = {0x00, 0xD7, 0xCF, 0x05, 6 + WIN, 0x54, 0x02, 0x00, 0x00, 0x53, WIN};
    memcpy(cmd + 11, marker, WIN);
    CHECK_EQ_INT(kt_tx(cmd, 11 + WIN), 0x9000);
    nwins = 0;
    add_windows(marker, WIN);
    CHECK_EQ_INT(flash_hits(), 1);
    static uint8_t sealed[HSM_STORE_OBJ_MAX];
    size_t sn;
    nwins = 0;
    for (size_t i = 0; i < NTYPES; i++) {
        if (generated[i] && hsm_store_read((uint16_t)(0xCC00 | ID(i)), 0, sealed, sizeof(sealed), &sn) == HSM_OK) {
            add_windows(sealed + sn - WIN, WIN); /* the GCM tag */
        }
    }
    CHECK(flash_hits() >= nwins && nwins > 0);
}

int main(void)
{
    double t0 = kt_now();
    kt_power_up();
    test_generate();
    test_generate_variants();
    test_sign();
    test_sign_cross_checks();
    test_decipher();
    test_no_private_key_in_flash();
    for (size_t i = 0; i < NTYPES; i++) {
        kt_pub_free(&pubs[i]);
    }
    printf("total %.2f s\n", kt_now() - t0);
    return CHECK_DONE();
}
