/* test_lock.c — secure lock (lock.h, ext. spec 3.8): the envelope built here with mbedTLS as a
 * host would (ephemeral P-256, HKDF-SHA256 L = 44, ChaCha20-Poly1305 with the host point as
 * AAD); the key-level mask checked on the stored record itself (the PIN wraps hold MKEK xor S
 * while locked, the MKEK again after disable); key use refused while locked, restored by the
 * right secret only, in this session only; INITIALIZE refused; the lock survives a power cycle.
 * The Go conformance suite builds the envelope with crypto/ecdh, x/crypto/hkdf and
 * x/crypto/chacha20poly1305. */
#include "keys_common.h"

#include "lock.h"
#include "mbedtls/chachapoly.h"
#include "mbedtls/hkdf.h"

static const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};
static const uint8_t hash32[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* 3A 01 then 3A p2 with S in an envelope; tamper flips a ciphertext bit. Returns the SW of p2. */
static uint16_t lock_cmd(uint8_t p2, const uint8_t s[32], bool tamper)
{
    mbedtls_ecp_group grp;
    mbedtls_mpi d, z;
    mbedtls_ecp_point q, dev;
    uint8_t hp[65], zb[32], k[44], env[48];
    size_t n = 0;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&z);
    mbedtls_ecp_point_init(&q);
    mbedtls_ecp_point_init(&dev);
    CHECK_EQ_INT(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1), 0);
    CHECK_EQ_INT(mbedtls_ecdh_gen_public(&grp, &d, &q, kt_rng, NULL), 0);
    CHECK_EQ_INT(mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, hp, 65), 0);
    CHECK_EQ_INT(kt_ext(0x80, 0x64, 0x3A, 0x01, hp, 65, 65), 0x9000);
    CHECK(kt_data_len() == 65);
    CHECK_EQ_INT(mbedtls_ecp_point_read_binary(&grp, &dev, kt_resp, 65), 0);
    CHECK_EQ_INT(mbedtls_ecdh_compute_shared(&grp, &z, &dev, &d, kt_rng, NULL), 0);
    CHECK_EQ_INT(mbedtls_mpi_write_binary(&z, zb, 32), 0);
    CHECK_EQ_INT(mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), NULL, 0, zb, 32, hp, 65, k, 44), 0);
    mbedtls_chachapoly_context cp;
    mbedtls_chachapoly_init(&cp);
    CHECK_EQ_INT(mbedtls_chachapoly_setkey(&cp, k + 12), 0);
    CHECK_EQ_INT(mbedtls_chachapoly_encrypt_and_tag(&cp, 32, k, hp, 65, s, env, env + 32), 0);
    mbedtls_chachapoly_free(&cp);
    if (tamper) {
        env[3] ^= 0x10;
    }
    uint16_t sw = kt_ext(0x80, 0x64, 0x3A, p2, env, 48, 0);
    mbedtls_mpi_free(&d);
    mbedtls_mpi_free(&z);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_point_free(&dev);
    mbedtls_ecp_group_free(&grp);
    return sw;
}

/* What the user PIN's wrap holds now (a PIN check straight on the stored record). */
static void stored_w(uint8_t w[32])
{
    hsm_device d;
    unsigned tries;
    CHECK_EQ_INT(hsm_device_load(&d), HSM_OK);
    CHECK_EQ_INT(hsm_pin_check(&d, HSM_PIN_ROLE_USER, kt_pin, sizeof(kt_pin), w, &tries), HSM_OK);
}

static void stored_so_w(uint8_t w[32])
{
    static const uint8_t so[] = {KT_SOPIN};
    hsm_device d;
    unsigned tries;
    CHECK_EQ_INT(hsm_device_load(&d), HSM_OK);
    CHECK_EQ_INT(hsm_pin_check(&d, HSM_PIN_ROLE_SO, so, sizeof(so), w, &tries), HSM_OK);
}

static void login_both(void)
{
    kt_login();
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x88, 0x08, KT_SOPIN), 0x9000);
}

static void test_lock(void)
{
    uint8_t s[32], wrong[32], m[32], w[32];
    for (int i = 0; i < 32; i++) {
        s[i] = (uint8_t)(0xA0 + i);
        wrong[i] = (uint8_t)(0x50 + i);
    }
    kt_power_up();
    CHECK_EQ_INT(kt_generate(0x01, &p256, NULL), 0x9000);
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x9000);
    stored_w(m); /* unlocked: W = MKEK */
    uint8_t so_w[32];
    stored_so_w(so_w);
    CHECK(memcmp(so_w, m, 32) == 0);

    /* Sub-command and envelope errors. */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x4C, 0x00), 0x6A86); /* OTP stays unavailable */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x3A, 0x01), 0x6700);
    uint8_t bad[65] = {0x04};
    CHECK_EQ_INT(kt_ext(0x80, 0x64, 0x3A, 0x01, bad, 65, 65), 0x6700);
    uint8_t env[48] = {0};
    CHECK_EQ_INT(kt_ext(0x80, 0x64, 0x3A, 0x02, env, 48, 0), 0x6986); /* no agreement */
    CHECK_EQ_INT(kt_ext(0x80, 0x64, 0x3A, 0x09, env, 48, 0), 0x9000); /* other P2: no effect */
    CHECK_EQ_INT(lock_cmd(0x02, s, true), 0x6700);                      /* tampered */
    CHECK_EQ_INT(kt_ext(0x80, 0x64, 0x3A, 0x02, env, 48, 0), 0x6986); /* agreement consumed */
    CHECK_EQ_INT(lock_cmd(0x02, s, false), 0x6982); /* user PIN only: the SO wrap cannot follow */
    CHECK(!hsm_lock_active());

    /* Enable with both PINs verified. */
    login_both();
    CHECK_EQ_INT(lock_cmd(0x02, s, false), 0x9000);
    CHECK(hsm_lock_active());
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x9000); /* this session holds the secret */
    stored_w(w);
    for (int i = 0; i < 32; i++) {
        CHECK(w[i] == (uint8_t)(m[i] ^ s[i])); /* key level: W = MKEK xor S */
    }
    stored_so_w(so_w);
    CHECK(memcmp(so_w, w, 32) == 0);
    CHECK_EQ_INT(lock_cmd(0x02, wrong, false), 0x9000); /* already locked: no effect */
    stored_w(w);
    CHECK(w[0] == (uint8_t)(m[0] ^ s[0]));

    /* A new session: the PIN alone opens nothing; the wrong secret changes nothing. */
    kt_login();
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x6982);
    CHECK_EQ_INT(kt_generate(0x02, &p256, NULL), 0x6982);
    CHECK_EQ_INT(lock_cmd(0x03, wrong, false), 0x6982);
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x6982);
    CHECK_EQ_INT(lock_cmd(0x03, s, true), 0x6700);
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03), 0x6982); /* INITIALIZE refused */
    CHECK_EQ_INT(lock_cmd(0x03, s, false), 0x9000);
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x9000);
    /* unlock before VERIFY works too */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(lock_cmd(0x03, s, false), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0x20, 0x00, 0x81, 0x06, KT_PIN), 0x9000);
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x9000);

    /* Power cycle: still locked, the mask was RAM only. */
    kt_remount();
    CHECK(hsm_lock_active());
    kt_login();
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x6982);
    CHECK_EQ_INT(lock_cmd(0x03, s, false), 0x9000);
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x9000);

    /* Disable: wrong secret refused; the right one with both PINs restores W = MKEK. */
    login_both();
    CHECK_EQ_INT(lock_cmd(0x04, wrong, false), 0x6982);
    CHECK(hsm_lock_active());
    kt_login();
    CHECK_EQ_INT(lock_cmd(0x04, s, false), 0x6982); /* SO-PIN not verified */
    login_both();
    CHECK_EQ_INT(lock_cmd(0x04, s, false), 0x9000);
    CHECK(!hsm_lock_active());
    stored_w(w);
    CHECK(memcmp(w, m, 32) == 0);
    kt_login();
    CHECK_EQ_INT(kt_sign(0x01, 0x70, hash32, 32), 0x9000);
    CHECK_EQ_INT(lock_cmd(0x03, wrong, false), 0x9000); /* unlocked: no effect */

    /* Locked again, then re-initialised by a session holding the secret: the device key
     * survives (it was re-sealed with the real MKEK) and the new device is unlocked. */
    login_both();
    CHECK_EQ_INT(lock_cmd(0x02, s, false), 0x9000);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(lock_cmd(0x03, s, false), 0x9000);
    static uint8_t chain_before[HSM_DEVID_C_DEVAUT_MAX];
    const uint8_t *chain;
    size_t chain_len, before_len;
    CHECK_EQ_INT(hsm_devid_c_devaut(&chain, &before_len), HSM_OK);
    memcpy(chain_before, chain, before_len);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x04, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03), 0x9000);
    CHECK(!hsm_lock_active()); /* 0400 in tag 80 is not a way to lock */
    CHECK_EQ_INT(hsm_devid_c_devaut(&chain, &chain_len), HSM_OK); /* same device key */
    CHECK(chain_len == before_len && memcmp(chain, chain_before, chain_len) == 0);
    CHECK_EQ_INT(kt_generate(0x01, &p256, NULL), 0x9000); /* the device key signs the request */
}

int main(void)
{
    test_lock();
    return CHECK_DONE();
}
