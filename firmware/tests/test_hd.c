/*
 * test_hd.c — HD keys through the card's APDU entry point (pico-hsm-extensions.md section 2):
 * SLIP-10 test vectors for secp256k1 (= BIP32 vector 1) and nist256p1 (vector 1, derivation
 * retry, seed retry) and the SLIP-21 example (satoshilabs/slips); ECDSA with a derived node
 * checked with mbedTLS against the vector's public key; the node's life (consumed by one
 * signature, gone after SELECT); every error path with its status word; master records sealed
 * (no seed-derived bytes in flash).
 */
#include "keys_common.h"

#include "hd.h"
#include "mbedtls/aes.h"
#include "mbedtls/ecdsa.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* "m/0h/1/..." -> 02 01 id, 02 04 index ... */
static size_t path_tlv(uint8_t id, const char *path, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 0x02, out[n++] = 0x01, out[n++] = id;
    const char *p = path + 1;
    while (*p == '/') {
        char *end;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (*end == 'h') v |= 0x80000000u, end++;
        out[n++] = 0x02, out[n++] = 0x04;
        out[n++] = (uint8_t)(v >> 24), out[n++] = (uint8_t)(v >> 16), out[n++] = (uint8_t)(v >> 8);
        out[n++] = (uint8_t)v;
        p = end;
    }
    return n;
}

static uint16_t hd(uint8_t p1, uint8_t p2, const uint8_t *data, size_t n)
{
    return n ? kt_ext(0x80, 0x4A, p1, p2, data, n, 65536) : KT_TX(0x80, 0x4A, p1, p2, 0x00, 0x00, 0x00);
}

static uint16_t master(uint8_t type, uint8_t id, const char *seed_hex)
{
    uint8_t seed[64];
    return hd(type, id, seed, unhex(seed_hex, seed));
}

typedef struct {
    const char *path, *fp, *chain, *pub;
} vec_node;

static void check_node(uint8_t id, const vec_node *v)
{
    uint8_t path[64], fp[4], chain[32], pub[33];
    size_t n = path_tlv(id, v->path, path);
    CHECK_EQ_INT(hd(0x0A, 0x00, path, n), 0x9000);
    CHECK_EQ_INT(kt_data_len(), HSM_HD_XPUB_SIZE);
    unhex(v->fp, fp), unhex(v->chain, chain), unhex(v->pub, pub);
    static const uint8_t version[4] = {0x04, 0x88, 0xB2, 0x1E};
    CHECK_MEM(kt_resp, version, 4);
    CHECK_EQ_INT(kt_resp[4], (n - 3) / 6);
    CHECK_MEM(kt_resp + 5, fp, 4);
    if (n > 3) CHECK_MEM(kt_resp + 9, path + n - 4, 4);
    CHECK_MEM(kt_resp + 13, chain, 32);
    if (memcmp(kt_resp + 45, pub, 33) != 0) {
        fprintf(stderr, "node %s: public key differs\n", v->path);
    }
    CHECK_MEM(kt_resp + 45, pub, 33);
}

/* SLIP-0010 secp256k1 test vector 1 (identical to BIP32 test vector 1). */
static const vec_node k1_v1[] = {
    {"m", "00000000", "873dff81c02f525623fd1fe5167eac3a55a049de3d314bb42ee227ffed37d508", "0339a36013301597daef41fbe593a02cc513d0b55527ec2df1050e2e8ff49c85c2"},
    {"m/0h", "3442193e", "47fdacbd0f1097043b78c63c20c34ef4ed9a111d980047ad16282c7ae6236141", "035a784662a4a20a65bf6aab9ae98a6c068a81c52e4b032c0fb5400c706cfccc56"},
    {"m/0h/1", "5c1bd648", "2a7857631386ba23dacac34180dd1983734e444fdbf774041578e9b6adb37c19", "03501e454bf00751f24b1b489aa925215d66af2234e3891c3b21a52bedb3cd711c"},
    {"m/0h/1/2h", "bef5a2f9", "04466b9cc8e161e966409ca52986c584f07e9dc81f735db683c3ff6ec7b1503f", "0357bfe1e341d01c69fe5654309956cbea516822fba8a601743a012a7896ee8dc2"},
    {"m/0h/1/2h/2", "ee7ab90c", "cfb71883f01676f587d023cc53a35bc7f88f724b1f8c2892ac1275ac822a3edd", "02e8445082a72f29b75ca48748a914df60622a609cacfce8ed0e35804560741d29"},
    {"m/0h/1/2h/2/1000000000", "d880d7d8", "c783e67b921d2beb8f6b389cc646d7263b4145701dadd2161548a8b078e65e9e", "022a471424da5e657499d1ff51cb43c47481a03b1e77f951fe64cec9f5a48f7011"},
};

/* SLIP-0010 nist256p1 test vector 1 and the derivation-retry vector (same seed). */
static const vec_node p256_v1[] = {
    {"m", "00000000", "beeb672fe4621673f722f38529c07392fecaa61015c80c34f29ce8b41b3cb6ea", "0266874dc6ade47b3ecd096745ca09bcd29638dd52c2c12117b11ed3e458cfa9e8"},
    {"m/0h", "be6105b5", "3460cea53e6a6bb5fb391eeef3237ffd8724bf0a40e94943c98b83825342ee11", "0384610f5ecffe8fda089363a41f56a5c7ffc1d81b59a612d0d649b2d22355590c"},
    {"m/0h/1", "9b02312f", "4187afff1aafa8445010097fb99d23aee9f599450c7bd140b6826ac22ba21d0c", "03526c63f8d0b4bbbf9c80df553fe66742df4676b241dabefdef67733e070f6844"},
    {"m/0h/1/2h", "b98005c1", "98c7514f562e64e74170cc3cf304ee1ce54d6b6da4f880f313e8204c2a185318", "0359cf160040778a4b14c5f4d7b76e327ccc8c4a6086dd9451b7482b5a4972dda0"},
    {"m/0h/1/2h/2", "0e9f3274", "ba96f776a5c3907d7fd48bde5620ee374d4acfd540378476019eab70790c63a0", "029f871f4cb9e1c97f9f4de9ccd0d4a2f2a171110c61178f84430062230833ff20"},
    {"m/0h/1/2h/2/1000000000", "8b2b5c4b", "b9b7b82d326bb9cb5b5b121066feea4eb93d5241103c9e7a18aad40f1dde8059", "02216cd26d31147f72427a453c443ed2cde8a1e53c9cc44e5ddf739725413fe3f4"},
    {"m/28578h", "be6105b5", "e94c8ebe30c2250a14713212f6449b20f3329105ea15b652ca5bdfc68f6c65c2", "02519b5554a4872e8c9c1c847115363051ec43e93400e030ba3c36b52a3e70a5b7"},
    {"m/28578h/33941", "3e2b7bc6", "9e87fe95031f14736774cd82f25fd885065cb7c358c1edf813c72af535e83071", "0235bfee614c0d5b2cae260000bb1d0d84b270099ad790022c1ae0b2e782efe120"},
};

static const vec_node p256_seed_retry = {
    "m", "00000000", "7762f9729fed06121fd13f326884c82f59aa95c57ac492ce8c9654e60efd130c", "0383619fadcde31063d8c5cb00dbfe1713f3e6fa169d8541a798752a1c1ca0cb20"};

static const char seed1[] = "000102030405060708090a0b0c0d0e0f";

static void test_vectors(void)
{
    CHECK_EQ_INT(master(HSM_HD_SECP256K1, 0, seed1), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 0);
    CHECK_EQ_INT(master(HSM_HD_P256, 1, seed1), 0x9000);
    CHECK_EQ_INT(master(HSM_HD_P256, 2, "a7305bc8df8d0951f0cb224c0e95d7707cbdf2c6ce7e8d481fec69c7ff5e9446"), 0x9000);
    for (size_t i = 0; i < sizeof(k1_v1) / sizeof(k1_v1[0]); i++) check_node(0, &k1_v1[i]);
    for (size_t i = 0; i < sizeof(p256_v1) / sizeof(p256_v1[0]); i++) check_node(1, &p256_v1[i]);
    check_node(2, &p256_seed_retry);
    /* The masters survive a power cycle (sealed in the store, not in RAM). */
    kt_remount();
    kt_login();
    check_node(0, &k1_v1[5]);
    check_node(1, &p256_v1[7]);
}

static void dsha256(const uint8_t *m, size_t n, uint8_t out[32])
{
    uint8_t h[32];
    mbedtls_sha256(m, n, h, 0);
    mbedtls_sha256(h, 32, out, 0);
}

/* SLIP-0021 example: seed of "all all ... all"; the card returns SHA256d(key) (spec 2.5). */
static void test_slip21(void)
{
    static const char *const keys[] = {
        "dbf12b44133eaab506a740f6565cc117228cbf1dd70635cfa8ddfdc9af734756",
        "1d065e3ac1bbe5c7fad32cf2305f7d709dc070d672044a19e610c77cdf33de0d",
        "ea163130e35bbafdf5ddee97a17b39cef2be4b4f390180d65b54cf05c6a82fde",
        "47194e938ab24cc82bfa25f6486ed54bebe79c40ae2a5a32ea6db294d81861a6",
    };
    CHECK_EQ_INT(master(HSM_HD_SYMMETRIC, 7,
                        "c76c4ac4f4e4a00d6b274d5c39c700bb4a7ddc04fbc6f78e85ca75007b5b495f"
                        "74a9043eeb77bdd53aa6fc3a0e31462270316fa04b8c19114c8798706cd02ac8"),
                 0x9000);
    uint8_t path[96] = {0x02, 0x01, 0x07};
    size_t n = 3;
    const char *labels[] = {"SLIP-0021", "Master encryption key", "Authentication key"};
    for (int i = 0; i < 4; i++) {
        size_t len = n;
        if (i >= 1) {
            const char *l = labels[i == 1 ? 0 : i - 1];
            len = 3;
            memcpy(path + len, (const uint8_t[]){0x04, 9}, 2), memcpy(path + len + 2, "SLIP-0021", 9), len += 11;
            if (i >= 2) {
                path[len] = 0x04, path[len + 1] = (uint8_t)strlen(l), memcpy(path + len + 2, l, strlen(l));
                len += 2 + strlen(l);
            }
        }
        uint8_t key[32], want[32];
        unhex(keys[i], key);
        dsha256(key, 32, want);
        CHECK_EQ_INT(hd(0x0A, 0x00, path, len), 0x9000);
        CHECK_EQ_INT(kt_data_len(), HSM_HD_SYM_XPUB_SIZE);
        CHECK_EQ_INT(kt_resp[4], i == 0 ? 0 : i == 1 ? 1 : 2);
        CHECK_MEM(kt_resp + 45, want, 32);
        CHECK_MEM(kt_resp + 9, "\0\0\0\0", 4);
    }
    /* A SLIP-21 node cannot sign (6985); an ECDSA element in its path is a path error. */
    CHECK_EQ_INT(hd(0x10, 0x00, path, 14), 0x9000);
    uint8_t h[32] = {1};
    CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, h, 32), 0x6985);
    const uint8_t bad[] = {0x02, 0x01, 0x07, 0x02, 0x04, 0, 0, 0, 1};
    CHECK_EQ_INT(hd(0x0A, 0x00, bad, sizeof(bad)), 0x6400);
}

static void test_sign(void)
{
    const vec_node *nodes[] = {&k1_v1[3], &p256_v1[4]};
    const mbedtls_ecp_group_id g[] = {MBEDTLS_ECP_DP_SECP256K1, MBEDTLS_ECP_DP_SECP256R1};
    for (int i = 0; i < 2; i++) {
        uint8_t path[64], pub[33], hash[32];
        size_t n = path_tlv((uint8_t)i, nodes[i]->path, path);
        unhex(nodes[i]->pub, pub);
        mbedtls_sha256((const uint8_t *)"message", 7, hash, 0);
        CHECK_EQ_INT(hd(0x10, 0x00, path, n), 0x9000);
        CHECK_EQ_INT(kt_data_len(), 0);
        CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, hash, 32), 0x9000);
        mbedtls_ecdsa_context k;
        mbedtls_ecdsa_init(&k);
        CHECK_EQ_INT(mbedtls_ecp_group_load(&k.MBEDTLS_PRIVATE(grp), g[i]), 0);
        CHECK_EQ_INT(mbedtls_ecp_point_read_binary(&k.MBEDTLS_PRIVATE(grp), &k.MBEDTLS_PRIVATE(Q), pub, 33), 0);
        CHECK_EQ_INT(mbedtls_ecdsa_read_signature(&k, hash, 32, kt_resp, kt_data_len()), 0);
        hash[0] ^= 1;
        CHECK(mbedtls_ecdsa_read_signature(&k, hash, 32, kt_resp, kt_data_len()) != 0);
        mbedtls_ecdsa_free(&k);
        /* Consumed by that signature. */
        CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, hash, 32), 0x6985);
    }
    /* SELECT wipes a selected node. */
    uint8_t path[16];
    size_t n = path_tlv(0, "m/1", path);
    CHECK_EQ_INT(hd(0x10, 0x00, path, n), 0x9000);
    kt_login();
    uint8_t h[32] = {0};
    CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, h, 32), 0x6985);
    /* A slot that does not exist is refused before the node is used: it stays. */
    CHECK_EQ_INT(hd(0x10, 0x00, path, n), 0x9000);
    CHECK_EQ_INT(kt_sign(0x42, HSM_HD_ALG_SIGN, h, 32), 0x6A82);
    CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, h, 32), 0x9000);
    /* Digest too long for the curve's signature input rule of this card: 1..64 bytes. */
    CHECK_EQ_INT(hd(0x10, 0x00, path, n), 0x9000);
    uint8_t big[65] = {0};
    CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, big, sizeof(big)), 0x6700);
}

static void test_errors(void)
{
    uint8_t path[64];
    size_t n = path_tlv(0, "m/0h", path);
    /* P1/P2 */
    CHECK_EQ_INT(master(HSM_HD_SECP256K1, 10, seed1), 0x6A86);
    CHECK_EQ_INT(hd(0x0A, 0x01, path, n), 0x6A86);
    CHECK_EQ_INT(hd(0x10, 0x01, path, n), 0x6A86);
    CHECK_EQ_INT(hd(0x04, 0x00, path, n), 0x6A86);
    CHECK_EQ_INT(hd(0x00, 0x00, NULL, 0), 0x6A86);
    /* length: an empty path; more than the row allows */
    CHECK_EQ_INT(hd(0x0A, 0x00, NULL, 0), 0x6700);
    static uint8_t huge[1100];
    CHECK_EQ_INT(hd(0x0A, 0x00, huge, sizeof(huge)), 0x6700);
    /* bad paths (6400, spec 2.3) */
    const uint8_t no_master[] = {0x02, 0x01, 0x05};
    CHECK_EQ_INT(hd(0x0A, 0x00, no_master, sizeof(no_master)), 0x6400);
    const uint8_t big_id[] = {0x02, 0x01, 0x0A};
    CHECK_EQ_INT(hd(0x0A, 0x00, big_id, sizeof(big_id)), 0x6400);
    const uint8_t id_len2[] = {0x02, 0x02, 0x00, 0x00};
    CHECK_EQ_INT(hd(0x0A, 0x00, id_len2, sizeof(id_len2)), 0x6400);
    const uint8_t label_first[] = {0x04, 0x01, 0x00};
    CHECK_EQ_INT(hd(0x0A, 0x00, label_first, sizeof(label_first)), 0x6400);
    const uint8_t short_index[] = {0x02, 0x01, 0x00, 0x02, 0x03, 0x00, 0x00, 0x01};
    CHECK_EQ_INT(hd(0x0A, 0x00, short_index, sizeof(short_index)), 0x6400);
    const uint8_t label_in_ecdsa[] = {0x02, 0x01, 0x00, 0x04, 0x01, 0x41};
    CHECK_EQ_INT(hd(0x0A, 0x00, label_in_ecdsa, sizeof(label_in_ecdsa)), 0x6400);
    const uint8_t truncated[] = {0x02, 0x01, 0x00, 0x02, 0x04, 0x00};
    CHECK_EQ_INT(hd(0x0A, 0x00, truncated, sizeof(truncated)), 0x6400);
    /* depth limit: 255 children are fine, 256 are not (one depth byte) */
    static uint8_t deep[3 + 6 * 256];
    memcpy(deep, (const uint8_t[]){0x02, 0x01, 0x00}, 3);
    for (int i = 0; i < 256; i++) memcpy(deep + 3 + 6 * i, (const uint8_t[]){0x02, 0x04, 0, 0, 0, 1}, 6);
    CHECK_EQ_INT(hd(0x0A, 0x00, deep, 3 + 6 * 255 - 6 * 100), 0x9000); /* depth 155 */
    CHECK_EQ_INT(kt_resp[4], 155);
    /* 256 elements exceed the 1024-byte row too; the depth rule is checked in hsm_hd_derive. */
    hsm_hd_node node;
    CHECK_EQ_INT(hsm_hd_master(HSM_HD_SECP256K1, (const uint8_t *)"seed", 4, &node), HSM_OK);
    uint8_t xpub[HSM_HD_XPUB_SIZE];
    size_t xl;
    CHECK_EQ_INT(hsm_hd_derive(&node, deep + 3, 6 * 256, xpub, &xl), HSM_ERR_EXEC);
    CHECK_EQ_INT(node.type, 0); /* wiped on failure */
    CHECK_EQ_INT(hsm_hd_master(HSM_HD_SECP256K1, (const uint8_t *)"seed", 4, &node), HSM_OK);
    CHECK_EQ_INT(hsm_hd_derive(&node, deep + 3, 6 * 255, xpub, &xl), HSM_OK);
    CHECK_EQ_INT(xpub[4], 255);
    hsm_hd_node_wipe(&node);
    /* HD SIGN without a node */
    uint8_t h[32] = {0};
    CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, h, 32), 0x6985);
    /* Not logged in: creation 6982 (spec 2.1), derivation 6400 (no key to open the master). */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(master(HSM_HD_SECP256K1, 3, seed1), 0x6982);
    CHECK_EQ_INT(hd(0x0A, 0x00, path, n), 0x6400);
    CHECK_EQ_INT(kt_sign(0, HSM_HD_ALG_SIGN, h, 32), 0x6982);
    kt_login();
    /* A random master (no seed) works and differs from run to run of the DRBG. */
    CHECK_EQ_INT(hd(HSM_HD_P256, 3, NULL, 0), 0x9000);
    const uint8_t m3[] = {0x02, 0x01, 0x03};
    CHECK_EQ_INT(hd(0x0A, 0x00, m3, sizeof(m3)), 0x9000);
    CHECK_EQ_INT(kt_data_len(), HSM_HD_XPUB_SIZE);
}

/* No master secret in clear in flash: the private key of the vector-1 master must not appear. */
static void test_sealed(void)
{
    static uint8_t img[1024 * 1024];
    size_t n = kt_flash_image(img, sizeof(img));
    uint8_t k[32];
    unhex("e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35", k);
    bool found = false;
    for (size_t i = 0; i + 32 <= n; i++) {
        if (memcmp(img + i, k, 32) == 0) found = true;
    }
    CHECK(!found);
    uint8_t c[32];
    unhex("873dff81c02f525623fd1fe5167eac3a55a049de3d314bb42ee227ffed37d508", c);
    for (size_t i = 0; i + 32 <= n; i++) {
        if (memcmp(img + i, c, 32) == 0) found = true;
    }
    CHECK(!found);
}

/* HD symmetric cipher primitive (spec 2.6): the SLIP-21 node m/"SLIP-0021"/"Authentication key"
 * has the published key 47194e93...; S = HMAC-SHA512(key, label) and AES-256-CBC are computed
 * here with mbedTLS's primitives directly and compared with hsm_hd_cipher. */
static void test_cipher(void)
{
    uint8_t seed[64], key[32], s512[64], want[64], got[64], back[64], iv[16];
    unhex("c76c4ac4f4e4a00d6b274d5c39c700bb4a7ddc04fbc6f78e85ca75007b5b495f"
          "74a9043eeb77bdd53aa6fc3a0e31462270316fa04b8c19114c8798706cd02ac8", seed);
    unhex("47194e938ab24cc82bfa25f6486ed54bebe79c40ae2a5a32ea6db294d81861a6", key);
    const uint8_t path[] = {0x04, 9, 'S', 'L', 'I', 'P', '-', '0', '0', '2', '1', 0x04, 18, 'A', 'u', 't', 'h',
                            'e', 'n', 't', 'i', 'c', 'a', 't', 'i', 'o', 'n', ' ', 'k', 'e', 'y'};
    hsm_hd_node n;
    CHECK_EQ_INT(hsm_hd_master(HSM_HD_SYMMETRIC, seed, 64, &n), HSM_OK);
    CHECK_EQ_INT(hsm_hd_derive(&n, path, sizeof(path), NULL, NULL), HSM_OK);
    CHECK_MEM(n.b, key, 32);
    const char label[] = "Enable labeling?E1D1";
    uint8_t pt[64];
    for (int i = 0; i < 64; i++) pt[i] = (uint8_t)(i * 7);
    CHECK_EQ_INT(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA512), key, 32,
                                 (const uint8_t *)label, strlen(label), s512), 0);
    for (int with_iv = 0; with_iv < 2; with_iv++) {
        mbedtls_aes_context aes;
        mbedtls_aes_init(&aes);
        memcpy(iv, with_iv ? (const uint8_t *)"0123456789abcdef" : s512 + 32, 16);
        CHECK_EQ_INT(mbedtls_aes_setkey_enc(&aes, s512, 256), 0);
        CHECK_EQ_INT(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, 64, iv, pt, want), 0);
        mbedtls_aes_free(&aes);
        const uint8_t *ivp = with_iv ? (const uint8_t *)"0123456789abcdef" : NULL;
        CHECK_EQ_INT(hsm_hd_cipher(&n, true, (const uint8_t *)label, strlen(label), ivp, with_iv ? 16 : 0,
                                   pt, 64, got), HSM_OK);
        CHECK_MEM(got, want, 64);
        CHECK_EQ_INT(hsm_hd_cipher(&n, false, (const uint8_t *)label, strlen(label), ivp, with_iv ? 16 : 0,
                                   got, 64, back), HSM_OK);
        CHECK_MEM(back, pt, 64);
    }
    CHECK_EQ_INT(hsm_hd_cipher(&n, true, NULL, 0, NULL, 0, pt, 15, got), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_hd_cipher(&n, true, NULL, 0, iv, 8, pt, 16, got), HSM_ERR_WRONG_LENGTH);
    hsm_hd_node e;
    CHECK_EQ_INT(hsm_hd_master(HSM_HD_P256, seed, 16, &e), HSM_OK);
    CHECK_EQ_INT(hsm_hd_cipher(&e, true, NULL, 0, NULL, 0, pt, 16, got), HSM_ERR_DATA);
    /* Taking the session's node empties it. */
    hsm_session s;
    memset(&s, 0, sizeof(s));
    hsm_hd_node t;
    CHECK_EQ_INT(hsm_hd_take_node(&s, &t), HSM_ERR_CONDITIONS);
    s.hd_type = HSM_HD_SYMMETRIC;
    memcpy(s.hd_node, n.a, 32), memcpy(s.hd_node + 32, n.b, 32);
    CHECK_EQ_INT(hsm_hd_take_node(&s, &t), HSM_OK);
    CHECK(t.type == HSM_HD_SYMMETRIC && memcmp(t.b, key, 32) == 0);
    CHECK_EQ_INT(s.hd_type, 0);
    CHECK_EQ_INT(hsm_hd_take_node(&s, &t), HSM_ERR_CONDITIONS);
    hsm_hd_node_wipe(&n), hsm_hd_node_wipe(&e), hsm_hd_node_wipe(&t);
}

int main(void)
{
    kt_power_up();
    test_vectors();
    test_slip21();
    test_sign();
    test_errors();
    test_sealed();
    test_cipher();
    return CHECK_DONE();
}
