/* test_pka.c — the public key authentication state machine through the card (pka.h, ext. spec
 * 5.6): INITIALIZE 93, registration, MSE SET AT, GET CHALLENGE, EXTERNAL AUTHENTICATE with
 * holders' keys made here with mbedTLS, the key-use gate (UPDATE BINARY, a HSM_CMD_USER row)
 * closed until m of n holders answered, flags cleared by SELECT and by a new challenge. The Go
 * conformance suite cross-checks the signatures against crypto/ecdsa and crypto/rsa. */
#include "keys_common.h"

#include "hsm/cvc.h"
#include "pka.h"

static const uint8_t eff[6] = {2, 6, 0, 1, 0, 1};
static const uint8_t exp99[6] = {9, 9, 1, 2, 3, 1};

typedef struct {
    mbedtls_ecp_keypair key;
    char chr[17];
    uint8_t req[600];
    size_t req_len;
} holder;

static void holder_new(holder *h, const char *chr)
{
    mbedtls_ecp_keypair_init(&h->key);
    CHECK_EQ_INT(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &h->key, kt_rng, NULL), 0);
    snprintf(h->chr, sizeof(h->chr), "%s", chr);
    size_t n = 0;
    CHECK_EQ_INT(hsm_cvc_build_self_signed(&h->key, chr, chr, eff, exp99, h->req, sizeof(h->req), &n), HSM_OK);
    /* the 67 content: request | 42 outer CAR | 5F37 outer signature (stored, not verified) */
    hsm_tlv_writer w;
    hsm_tlv_writer_init(&w, h->req + n, sizeof(h->req) - n);
    uint8_t outer[64] = {0};
    hsm_tlv_put(&w, 0x42, "ZZPOUTER0000001", 15);
    hsm_tlv_put(&w, 0x5F37, outer, sizeof(outer));
    CHECK(hsm_tlv_writer_ok(&w));
    h->req_len = n + w.len;
}

/* r || s over SHA-256(device CHR | challenge). */
static size_t holder_sign(holder *h, const uint8_t *ch, size_t ch_len, uint8_t *sig)
{
    uint8_t msg[16 + 256];
    memcpy(msg, hsm_devid_chr(), 16);
    memcpy(msg + 16, ch, ch_len);
    size_t n = 0;
    CHECK_EQ_INT(hsm_cvc_sign_ecdsa_sha256(&h->key, msg, 16 + ch_len, sig, HSM_CVC_SIG_MAX, &n), HSM_OK);
    return n;
}

static uint16_t mse_at(const char *chr)
{
    uint8_t d[20];
    size_t n = strlen(chr);
    d[0] = 0x83, d[1] = (uint8_t)n;
    memcpy(d + 2, chr, n);
    return kt_ext(0x00, 0x22, 0x81, 0xA4, d, n + 2, 0);
}

static uint16_t update_cf01(void)
{
    return KT_TX(0x00, 0xD7, 0xCF, 0x01, 0x07, 0x54, 0x02, 0x00, 0x00, 0x53, 0x01, 0xAA);
}

static void check_status(uint8_t n, uint8_t missing, uint8_t m, uint8_t auth)
{
    CHECK_EQ_INT(KT_TX(0x80, 0x54, 0x00, 0x00, 0x00), 0x9000);
    const uint8_t want[4] = {n, missing, m, auth};
    CHECK(kt_data_len() == 4 && memcmp(kt_resp, want, 4) == 0);
}

static void test_two_of_three(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    kt_remount();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    /* PKA not configured yet: 6A86 without data, 6A82 with, EXTERNAL AUTHENTICATE 6A82 */
    CHECK_EQ_INT(KT_TX(0x80, 0x54, 0x00, 0x00, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x54, 0x00, 0x00, 0x01, 0x00), 0x6A82);
    CHECK_EQ_INT(KT_TX(0x00, 0x82, 0x00, 0x00, 0x01, 0x00), 0x6A82);
    /* 93 03 02: 3 keys, 2 required; 93 09 01 (more than 8) and 93 02 00 are refused */
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x1A, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x93, 0x02, 0x09, 0x01), 0x6A80);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x1A, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x93, 0x02, 0x02, 0x00), 0x6A80);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x1A, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x93, 0x02, 0x03, 0x02), 0x9000);
    uint8_t n, m;
    CHECK_EQ_INT(hsm_pka_config(&n, &m), HSM_OK);
    CHECK(n == 3 && m == 2);
    CHECK_EQ_INT(update_cf01(), 0x9000); /* INITIALIZE's session is authenticated */

    static holder h[3];
    holder_new(&h[0], "ZZPHOLDER000001");
    holder_new(&h[1], "ZZPHOLDER000002");
    holder_new(&h[2], "ZZPHOLDER000003");
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    check_status(3, 3, 2, 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(kt_ext(0x80, 0x54, 0x00, 0x00, h[i].req, h[i].req_len, 4), 0x9000);
    }
    check_status(3, 0, 2, 0);
    CHECK_EQ_INT(kt_ext(0x80, 0x54, 0x00, 0x00, h[0].req, h[0].req_len, 4), 0x6A84);
    CHECK_EQ_INT(kt_ext(0x80, 0x54, 0x00, 0x00, (const uint8_t *)"\x30\x00", 2, 4), 0x6A80);

    kt_login();
    CHECK_EQ_INT(update_cf01(), 0x6982); /* the PIN alone */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x04, 0x01), 0x6982); /* key-domain management too */
    CHECK_EQ_INT(mse_at("ZZPNOBODY000001"), 0x6A88);
    CHECK_EQ_INT(KT_TX(0x00, 0x82, 0x00, 0x00, 0x01, 0x00), 0x6A88); /* nothing selected */
    CHECK_EQ_INT(mse_at(h[0].chr), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0x82, 0x00, 0x00, 0x01, 0x00), 0x6985); /* no challenge */
    CHECK_EQ_INT(KT_TX(0x00, 0x82, 0x00, 0x00), 0x6700);
    CHECK_EQ_INT(KT_TX(0x00, 0x82, 0x00, 0x01, 0x01, 0x00), 0x6A86);

    CHECK_EQ_INT(KT_TX(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
    uint8_t ch[8], sig[HSM_CVC_SIG_MAX];
    memcpy(ch, kt_resp, 8);
    size_t sl = holder_sign(&h[1], ch, 8, sig); /* the wrong holder */
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl, 0), 0x6985);
    sl = holder_sign(&h[0], ch, 8, sig);
    sig[5] ^= 1;
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl, 0), 0x6985);
    sig[5] ^= 1;
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl - 1, 0), 0x6985);
    CHECK_EQ_INT(KT_TX(0x80, 0x54, 0x02, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl, 0), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x54, 0x02, 0x00, 0x00), 0x9001);
    CHECK(kt_data_len() == 15 && memcmp(kt_resp, h[0].chr, 15) == 0);
    CHECK_EQ_INT(mse_at(h[0].chr), 0x6985); /* already authenticated */
    check_status(3, 0, 2, 1);
    CHECK_EQ_INT(update_cf01(), 0x6982); /* 1 of 2 */

    /* A new challenge resets the flags: holder 1 must answer again. */
    CHECK_EQ_INT(KT_TX(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
    memcpy(ch, kt_resp, 8);
    check_status(3, 0, 2, 0);
    CHECK_EQ_INT(mse_at(h[2].chr), 0x9000);
    sl = holder_sign(&h[2], ch, 8, sig);
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl, 0), 0x9000);
    CHECK_EQ_INT(update_cf01(), 0x6982);
    CHECK_EQ_INT(mse_at(h[0].chr), 0x9000);
    sl = holder_sign(&h[0], ch, 8, sig);
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl, 0), 0x9000);
    CHECK_EQ_INT(update_cf01(), 0x9000); /* 2 of 3 */
    /* the challenge is consumed at the threshold */
    CHECK_EQ_INT(mse_at(h[1].chr), 0x9000);
    sl = holder_sign(&h[1], ch, 8, sig);
    CHECK_EQ_INT(kt_ext(0x00, 0x82, 0x00, 0x00, sig, sl, 0), 0x6985);

    /* SELECT clears everything; so does a power cycle. */
    kt_login();
    CHECK_EQ_INT(update_cf01(), 0x6982);
    check_status(3, 0, 2, 0);
    kt_remount();
    kt_login();
    CHECK_EQ_INT(update_cf01(), 0x6982);
    check_status(3, 0, 2, 0);

    /* A re-initialisation without 93 removes PKA. */
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x16, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN), 0x9000);
    CHECK_EQ_INT(hsm_pka_config(&n, &m), HSM_ERR_NOT_FOUND);
    kt_login();
    CHECK_EQ_INT(update_cf01(), 0x9000);
    for (int i = 0; i < 3; i++) {
        mbedtls_ecp_keypair_free(&h[i].key);
    }
}

int main(void)
{
    test_two_of_three();
    return CHECK_DONE();
}
