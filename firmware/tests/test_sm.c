/*
 * test_sm.c — the secure-messaging codec (sm.h, ext. spec 5.7) against known answers computed
 * independently in Go (host/hsm/sm_test.go: crypto/sha1, crypto/aes and a CMAC checked there
 * against RFC 4493), the RFC 4493 vectors themselves, every refusal of hsm_sm_unwrap (the
 * channel closed after each), and the card entry point without a channel.
 */
#include <stdlib.h>

#include "check.h"
#include "hsm/apdu.h"
#include "hsm/card.h"
#include "hsm/err.h"
#include "mbedtls/aes.h"
#include "ram_port.h"
#include "sm.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && n < cap) {
        char b[3] = {s[0], s[1], 0};
        out[n++] = (uint8_t)strtoul(b, NULL, 16);
        s += 2;
    }
    return n;
}

/* Vectors of host/hsm/sm_test.go (smKAT). */
static const char kat_z[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char kat_r[] = "a0a1a2a3a4a5a6a7";
static const char kat_kenc[] = "59f1415f6fb4a3d59366710f4e39da16";
static const char kat_kmac[] = "885bbc20689bb4420cb30e38b4b71c63";
static const char kat_token[] = "f7ab38985fcd3921";
static const char kat_prot1[] =
    "0c20008100001d871101bf5b7e9bb523d0b33e93eb95f018016e8e08f4f71491f590f28e0000";
static const char kat_resp1[] = "990290008e08faa280423e59bb35"; /* without the outer 9000 */
static const char kat_prot2[] = "0c84000000000d9701088e08fd42fe852ac67bfb0000";
static const char kat_resp2[] =
    "871101f55b733e13fa66c7003eed9fb2787bb7990290008e08b214e1078d31406a";
/* P-256 base point G, uncompressed. */
static const char p256_g[] = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                             "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

static uint8_t plain[HSM_SM_DATA_MAX + 16];

static void test_cmac_rfc4493(void)
{
    uint8_t key[16], msg[64], mac[16], want[16];
    unhex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
    unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
          msg, sizeof(msg));
    static const struct {
        size_t n;
        const char *want;
    } v[] = {{0, "bb1d6929e95937287fa37d129b756746"},
             {16, "070a16b46b4d4144f79bdd9dd04a287c"},
             {40, "dfa66747de9ae63030ca32611497c827"},
             {64, "51f0bebf7e3b9d92fc49741779363cfe"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unhex(v[i].want, want, sizeof(want));
        CHECK_EQ_INT(hsm_sm_cmac(key, msg, v[i].n, mac), HSM_OK);
        CHECK_MEM(mac, want, 16);
    }
}

static void kat_keys(uint8_t kenc[16], uint8_t kmac[16])
{
    uint8_t z[32], r[8];
    unhex(kat_z, z, sizeof(z));
    unhex(kat_r, r, sizeof(r));
    CHECK_EQ_INT(hsm_sm_kdf(z, sizeof(z), r, kenc, kmac), HSM_OK);
}

static void test_kdf_token(void)
{
    uint8_t kenc[16], kmac[16], want[16], g[65], token[8];
    kat_keys(kenc, kmac);
    unhex(kat_kenc, want, 16);
    CHECK_MEM(kenc, want, 16);
    unhex(kat_kmac, want, 16);
    CHECK_MEM(kmac, want, 16);
    unhex(p256_g, g, sizeof(g));
    CHECK_EQ_INT(hsm_sm_token(kmac, g, token), HSM_OK);
    unhex(kat_token, want, 8);
    CHECK_MEM(token, want, 8);
}

static void open_kat(hsm_sm *sm)
{
    uint8_t kenc[16], kmac[16];
    kat_keys(kenc, kmac);
    hsm_sm_start(sm, kenc, kmac);
}

static bool closed(const hsm_sm *sm)
{
    static const hsm_sm zero;
    return memcmp(sm, &zero, sizeof(zero)) == 0;
}

static int unwrap_hex(hsm_sm *sm, const char *hex, size_t cut, hsm_apdu *in)
{
    uint8_t cmd[128];
    size_t n = unhex(hex, cmd, sizeof(cmd));
    hsm_apdu outer;
    CHECK_EQ_INT(hsm_apdu_parse(cmd, n, &outer), HSM_OK);
    outer.nc = cut < outer.nc ? cut : outer.nc; /* a truncated envelope */
    return hsm_sm_unwrap(sm, &outer, plain, sizeof(plain), in);
}

/* The Go client's two protected commands, the card's answers byte for byte. */
static void test_kat_exchange(void)
{
    hsm_sm sm;
    hsm_apdu in;
    uint8_t buf[256], want[128];
    size_t len = 0;
    open_kat(&sm);

    CHECK_EQ_INT(unwrap_hex(&sm, kat_prot1, SIZE_MAX, &in), HSM_OK);
    CHECK(in.cla == 0x00 && in.ins == 0x20 && in.p1 == 0x00 && in.p2 == 0x81);
    CHECK_EQ_INT(in.nc, 6);
    CHECK(in.nc == 6 && memcmp(in.data, "123456", 6) == 0);
    CHECK_EQ_INT(in.ne, 0);
    CHECK_EQ_INT(in.iso_case, 3);
    CHECK_EQ_INT(hsm_sm_wrap(&sm, buf, 0, sizeof(buf), 0x9000, &len), HSM_OK);
    size_t wn = unhex(kat_resp1, want, sizeof(want));
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);

    CHECK_EQ_INT(unwrap_hex(&sm, kat_prot2, SIZE_MAX, &in), HSM_OK);
    CHECK(in.ins == 0x84 && in.nc == 0 && in.ne == 8 && in.iso_case == 2);
    for (int i = 0; i < 8; i++) {
        buf[i] = (uint8_t)(i + 1);
    }
    CHECK_EQ_INT(hsm_sm_wrap(&sm, buf, 8, sizeof(buf), 0x9000, &len), HSM_OK);
    wn = unhex(kat_resp2, want, sizeof(want));
    CHECK_EQ_INT(len, wn);
    CHECK_MEM(buf, want, wn);
    CHECK(sm.open);
    hsm_sm_close(&sm);
    CHECK(closed(&sm));
}

/* Each refusal answers 6984 and leaves the channel wiped. */
static void test_refusals(void)
{
    hsm_sm sm;
    hsm_apdu in;
    uint8_t cmd[128];
    hsm_apdu outer;

    /* No channel. */
    memset(&sm, 0, sizeof(sm));
    CHECK_EQ_INT(unwrap_hex(&sm, kat_prot1, SIZE_MAX, &in), HSM_ERR_REF_UNUSABLE);

    /* Every truncation of the envelope (including no data at all). */
    size_t full = (sizeof(kat_prot1) - 1) / 2 - 9;
    for (size_t cut = 0; cut < full; cut++) {
        open_kat(&sm);
        CHECK_EQ_INT(unwrap_hex(&sm, kat_prot1, cut, &in), HSM_ERR_REF_UNUSABLE);
        CHECK(closed(&sm));
    }

    /* Every single-bit change of the data field or of the header. */
    size_t n = unhex(kat_prot1, cmd, sizeof(cmd));
    for (size_t i = 0; i < n - 2; i++) {
        if (i >= 4 && i < 7) {
            continue; /* the length bytes: a parse error, not an SM one */
        }
        for (int bit = 0; bit < 8; bit += 3) {
            open_kat(&sm);
            cmd[i] ^= (uint8_t)(1u << bit);
            int prc = hsm_apdu_parse(cmd, n, &outer);
            int rc = prc == HSM_OK && hsm_sm_is_protected(outer.cla)
                         ? hsm_sm_unwrap(&sm, &outer, plain, sizeof(plain), &in)
                         : HSM_ERR_REF_UNUSABLE;
            cmd[i] ^= (uint8_t)(1u << bit);
            CHECK_EQ_INT(rc, HSM_ERR_REF_UNUSABLE);
            if (prc == HSM_OK && hsm_sm_is_protected(outer.cla)) {
                CHECK(closed(&sm));
            }
        }
    }

    /* Replay: the same APDU after it was accepted. */
    open_kat(&sm);
    CHECK_EQ_INT(unwrap_hex(&sm, kat_prot1, SIZE_MAX, &in), HSM_OK);
    CHECK_EQ_INT(unwrap_hex(&sm, kat_prot1, SIZE_MAX, &in), HSM_ERR_REF_UNUSABLE);
    CHECK(closed(&sm));
    /* Out of order: command 2 first (it was MACed with SSC 3). */
    open_kat(&sm);
    CHECK_EQ_INT(unwrap_hex(&sm, kat_prot2, SIZE_MAX, &in), HSM_ERR_REF_UNUSABLE);
    CHECK(closed(&sm));
}

/* Builds a protected APDU with MAC computed here: 87 01 <ct> 8E <mac of maclen>. */
static size_t build(hsm_sm *sm, const uint8_t *ct, size_t ctlen, size_t maclen, uint8_t *out)
{
    uint8_t ssc[16] = {0}, mac[16], macin[16 + 16 + 48 + 16];
    memcpy(ssc, sm->ssc, 16);
    ssc[15]++; /* the card increments before checking */
    size_t k = 0, n = 0;
    memcpy(macin, ssc, 16), k = 16;
    const uint8_t hdr[16] = {0x0C, 0x20, 0x00, 0x81, 0x80};
    memcpy(macin + k, hdr, 16), k += 16;
    uint8_t dos[40];
    dos[n++] = 0x87, dos[n++] = (uint8_t)(ctlen + 1), dos[n++] = 0x01;
    memcpy(dos + n, ct, ctlen), n += ctlen;
    memcpy(macin + k, dos, n), k += n;
    macin[k++] = 0x80;
    while (k % 16) {
        macin[k++] = 0;
    }
    CHECK_EQ_INT(hsm_sm_cmac(sm->kmac, macin, k, mac), HSM_OK);
    size_t o = 0;
    memcpy(out, (const uint8_t[]){0x0C, 0x20, 0x00, 0x81, 0x00}, 5), o = 7;
    memcpy(out + o, dos, n), o += n;
    out[o++] = 0x8E, out[o++] = (uint8_t)maclen;
    memcpy(out + o, mac, maclen), o += maclen;
    out[5] = (uint8_t)((o - 7) >> 8), out[6] = (uint8_t)(o - 7);
    out[o++] = 0, out[o++] = 0;
    return o;
}

static void encrypt_block(const hsm_sm *sm, const uint8_t p[16], uint8_t c[16])
{
    mbedtls_aes_context aes;
    uint8_t ssc[16], iv[16];
    memcpy(ssc, sm->ssc, 16);
    ssc[15]++;
    mbedtls_aes_init(&aes);
    mbedtls_aes_setkey_enc(&aes, sm->kenc, 128);
    mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, ssc, iv);
    mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, 16, iv, p, c);
    mbedtls_aes_free(&aes);
}

/* Authentic envelopes: a 16-byte 8E (pypicokey), bad padding, padding-only plaintext. */
static void test_authentic_contents(void)
{
    hsm_sm sm;
    hsm_apdu outer, in;
    uint8_t cmd[128], ct[16];
    const uint8_t good[16] = {'1', '2', '3', '4', '5', '6', 0x80};
    const uint8_t nopad[16] = {'1', '2', '3', '4', '5', '6', 0x00};
    const uint8_t onlypad[16] = {0x80};

    open_kat(&sm);
    encrypt_block(&sm, good, ct);
    size_t n = build(&sm, ct, 16, 16, cmd);
    CHECK_EQ_INT(hsm_apdu_parse(cmd, n, &outer), HSM_OK);
    CHECK_EQ_INT(hsm_sm_unwrap(&sm, &outer, plain, sizeof(plain), &in), HSM_OK);
    CHECK(in.nc == 6 && memcmp(in.data, "123456", 6) == 0);

    open_kat(&sm);
    encrypt_block(&sm, nopad, ct);
    n = build(&sm, ct, 16, 8, cmd);
    CHECK_EQ_INT(hsm_apdu_parse(cmd, n, &outer), HSM_OK);
    CHECK_EQ_INT(hsm_sm_unwrap(&sm, &outer, plain, sizeof(plain), &in), HSM_ERR_REF_UNUSABLE);
    CHECK(closed(&sm));

    open_kat(&sm);
    encrypt_block(&sm, onlypad, ct);
    n = build(&sm, ct, 16, 8, cmd);
    CHECK_EQ_INT(hsm_apdu_parse(cmd, n, &outer), HSM_OK);
    CHECK_EQ_INT(hsm_sm_unwrap(&sm, &outer, plain, sizeof(plain), &in), HSM_OK);
    CHECK(in.nc == 0 && in.iso_case == 1);

    /* A cryptogram that is not a whole number of blocks, with a valid MAC. */
    open_kat(&sm);
    n = build(&sm, ct, 15, 8, cmd);
    CHECK_EQ_INT(hsm_apdu_parse(cmd, n, &outer), HSM_OK);
    CHECK_EQ_INT(hsm_sm_unwrap(&sm, &outer, plain, sizeof(plain), &in), HSM_ERR_REF_UNUSABLE);
    CHECK(closed(&sm));
}

static void test_room(void)
{
    hsm_sm sm;
    uint8_t buf[64];
    size_t len;
    CHECK_EQ_INT(hsm_sm_room(0), 0);
    CHECK_EQ_INT(hsm_sm_room(34), 0);
    CHECK_EQ_INT(hsm_sm_room(35), 15);
    CHECK_EQ_INT(hsm_sm_room(65538), ((65538 - 19) / 16) * 16 - 1);
    open_kat(&sm);
    CHECK_EQ_INT(hsm_sm_wrap(&sm, buf, 16, 40, 0x9000, &len), HSM_ERR_WRONG_LENGTH);
    CHECK(closed(&sm));
    open_kat(&sm);
    CHECK_EQ_INT(hsm_sm_wrap(&sm, buf, 15, 35, 0x9000, &len), HSM_OK);
    CHECK(len <= 35);
    CHECK_EQ_INT(hsm_sm_wrap(&sm, buf, 0, 13, 0x9000, &len), HSM_ERR_WRONG_LENGTH);
}

static uint8_t resp[HSM_RAPDU_MAX];

static uint16_t tx(const uint8_t *cmd, size_t n)
{
    size_t rlen = hsm_card_apdu(cmd, n, resp, sizeof(resp));
    return rlen < 2 ? 0 : (uint16_t)((resp[rlen - 2] << 8) | resp[rlen - 1]);
}
#define TX(...) tx((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* The card: protected APDUs without a channel, GA and session PIN refusals without login. */
static void test_card(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    CHECK_EQ_INT(TX(0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3,
                    0x1F, 0x02, 0x01),
                 0x9000);
    CHECK_EQ_INT(TX(0x0C, 0x84, 0x00, 0x00, 0x0D, 0x97, 0x01, 0x08, 0x8E, 0x08, 1, 2, 3, 4, 5, 6,
                    7, 8, 0x00),
                 0x6984);
    CHECK_EQ_INT(TX(0x8C, 0x84, 0x00, 0x00, 0x00), 0x6984);
    CHECK_EQ_INT(TX(0x04, 0x84, 0x00, 0x00, 0x08), 0x6882); /* other SM bits: still refused */
    CHECK_EQ_INT(TX(0x80, 0x5A, 0x01, 0x81, 0x00), 0x6D00); /* GET SESSION PIN outside SM */
    CHECK_EQ_INT(TX(0x00, 0x86, 0x00, 0x00, 0x01, 0x7C), 0x6700);
    CHECK_EQ_INT(TX(0x00, 0x22, 0x41, 0xA4, 0x0C, 0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02,
                    0x02, 0x03, 0x02, 0x02),
                 0x9000);
    CHECK_EQ_INT(TX(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000); /* the card still answers */
}

int main(void)
{
    test_cmac_rfc4493();
    test_kdf_token();
    test_kat_exchange();
    test_refusals();
    test_authentic_contents();
    test_room();
    test_card();
    return CHECK_DONE();
}
