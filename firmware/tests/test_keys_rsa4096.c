/* test_keys_rsa4096.c — RSA-4096, apart from test_keys.c because its generation time is the
 * least predictable part of the key tests (0.5 to 2.5 s on a desktop core, depending on where
 * the primes fall; ctest can run it beside the rest): the GAKP answer, which must fit OpenSC's
 * 1200-byte buffer (core spec 2.11.4); one signature of each kind (raw 20 as OpenSC sends it,
 * v1.5 and PSS with the hash on the card, PSS on a bare hash) and each DECIPHER (raw with
 * leading zeros, v1.5, OAEP) at the largest size, where a 512-byte answer is exactly the Le
 * OpenSC gives. */
#include "keys_common.h"

static const kt_type rsa4096 = {"RSA-4096", KT_RSA, 4096, MBEDTLS_ECP_DP_NONE};

int main(void)
{
    static uint8_t msg[3000], in[512], m[512], c[512], s20[512];
    uint8_t h[32], di[64];
    kt_pub k;

    kt_power_up();
    double t0 = kt_now();
    CHECK_EQ_INT(kt_generate(0x01, &rsa4096, NULL), 0x9000);
    double dt = kt_now() - t0;
    size_t len = kt_data_len();
    CHECK(kt_check_answer(&rsa4096, NULL, &k));
    CHECK(len <= KT_OPENSC_BUF);
    printf("generate %-16s %7.3f s  answer %4zu bytes\n", rsa4096.name, dt, len);

    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)(i * 7 + 1);
    }
    kt_hash(MBEDTLS_MD_SHA256, msg, sizeof(msg), h);
    size_t dl = kt_digest_info(MBEDTLS_MD_SHA256, h, di);
    kt_pkcs1_block(di, dl, in, 512);
    CHECK_EQ_INT(kt_sign(0x01, 0x20, in, 512), 0x9000);
    CHECK(kt_v15_ok(&k, MBEDTLS_MD_SHA256, h, 32, kt_resp, kt_data_len()));
    memcpy(s20, kt_resp, 512);
    CHECK_EQ_INT(kt_sign(0x01, 0x33, msg, sizeof(msg)), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 512);
    CHECK_MEM(kt_resp, s20, 512);
    CHECK_EQ_INT(kt_sign(0x01, 0x43, msg, sizeof(msg)), 0x9000);
    CHECK(kt_pss_ok(&k, MBEDTLS_MD_SHA256, h, 32, kt_resp, kt_data_len()));
    uint8_t h512[64];
    kt_hash(MBEDTLS_MD_SHA512, msg, sizeof(msg), h512);
    CHECK_EQ_INT(kt_sign(0x01, 0x40, h512, 64), 0x9000);
    CHECK(kt_pss_ok(&k, MBEDTLS_MD_SHA512, h512, 64, kt_resp, kt_data_len()));

    memset(m, 0, 3);
    kt_rng(NULL, m + 3, 509);
    CHECK_EQ_INT(mbedtls_rsa_public(&k.rsa, m, c), 0);
    CHECK_EQ_INT(kt_decipher(0x01, 0x21, c, 512), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 512);
    CHECK_MEM(kt_resp, m, 512);
    kt_rng(NULL, m, 501);
    CHECK_EQ_INT(mbedtls_rsa_rsaes_pkcs1_v15_encrypt(&k.rsa, kt_rng, NULL, 501, m, c), 0);
    CHECK_EQ_INT(kt_decipher(0x01, 0x22, c, 512), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 501);
    CHECK_MEM(kt_resp, m, 501);
    CHECK_EQ_INT(mbedtls_rsa_set_padding(&k.rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256), 0);
    CHECK_EQ_INT(mbedtls_rsa_rsaes_oaep_encrypt(&k.rsa, kt_rng, NULL, NULL, 0, 446, m, c), 0);
    CHECK_EQ_INT(kt_decipher(0x01, 0x23, c, 512), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 446);
    CHECK_MEM(kt_resp, m, 446);

    /* Le 01FF is one byte short of a 4096-bit signature: the card answers 6700, not a stub. */
    CHECK_EQ_INT(kt_ext(0x80, 0x68, 0x01, 0x33, msg, sizeof(msg), 511), 0x6700);
    CHECK_EQ_INT(kt_data_len(), 0);

    kt_pub_free(&k);
    printf("total %.2f s\n", kt_now() - t0);
    return CHECK_DONE();
}
