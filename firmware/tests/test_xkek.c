/* test_xkek.c — XKEK key domains through the card's APDU entry point (extensions spec 4.2
 * P1 02/03/04, 4.3): membership checked against a group signing key made here with mbedTLS
 * (the 54 signature over SHA-256(54 || X of the device key read from 2F02, signed with
 * mbedtls_ecdsa_sign directly), the UID in the status answer, the XKEK key's 65/73 extension,
 * the DKEK derived by DECIPHER 84 compared with an ECDH computed here from the peer's private
 * key, every refusal with its status word, and a scan of the raw flash for the DKEK. */
#include "keys_common.h"

#include "hsm/cvc.h"
#include "mbedtls/ecdh.h"
#include "mbedtls/ecdsa.h"

static const uint8_t oid_kd_uid[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x03, 0x02, 0x02};
static const kt_type bp256 = {"brainpoolP256r1", KT_EC, 0, MBEDTLS_ECP_DP_BP256R1};
static const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};

static void gen(mbedtls_ecp_keypair *k, mbedtls_ecp_group_id id)
{
    mbedtls_ecp_keypair_init(k);
    CHECK_EQ_INT(mbedtls_ecp_gen_key(id, k, kt_rng, NULL), 0);
}

static size_t point_of(const mbedtls_ecp_keypair *k, uint8_t *out, size_t cap)
{
    size_t n = 0;
    CHECK_EQ_INT(mbedtls_ecp_point_write_binary(&k->grp, &k->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, out, cap), 0);
    return n;
}

/* r || s over hash with key, by mbedTLS directly. */
static size_t sign_hash(const mbedtls_ecp_keypair *key, const uint8_t h[32], uint8_t *out)
{
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r), mbedtls_mpi_init(&s);
    CHECK_EQ_INT(mbedtls_ecdsa_sign((mbedtls_ecp_group *)&key->grp, &r, &s, &key->d, h, 32, kt_rng, NULL), 0);
    size_t n = mbedtls_mpi_size(&key->grp.N);
    CHECK_EQ_INT(mbedtls_mpi_write_binary(&r, out, n), 0);
    CHECK_EQ_INT(mbedtls_mpi_write_binary(&s, out + n, n), 0);
    mbedtls_mpi_free(&r), mbedtls_mpi_free(&s);
    return 2 * n;
}

/* 7F21 { 7F4E { 5F29 00, 42 car, 7F49, 5F20 chr, [65 ext] }, 5F37 by signer }. */
static size_t cert(const char *car, const char *chr, const mbedtls_ecp_keypair *k, bool params,
                   const uint8_t *ext, size_t ext_len, const mbedtls_ecp_keypair *signer, uint8_t *out,
                   size_t cap)
{
    uint8_t body[1024], tpl[600], pt[133], sig[HSM_CVC_SIG_MAX], h[32];
    kt_buf b = {body, sizeof(body), 0}, t = {tpl, sizeof(tpl), 0}, o = {out, cap, 0};
    size_t n = point_of(k, pt, sizeof(pt));
    kt_tlv(&t, 0x06, kt_oid_ecdsa_sha256, 10);
    if (params) {
        kt_domain d;
        kt_domain_of(k->grp.id, &d);
        kt_tlv(&t, 0x81, d.p, d.plen), kt_tlv(&t, 0x82, d.a, d.plen), kt_tlv(&t, 0x83, d.b, d.plen);
        kt_tlv(&t, 0x84, d.g, d.glen), kt_tlv(&t, 0x85, d.n, d.nlen);
    }
    kt_tlv(&t, 0x86, pt, n);
    if (params) {
        kt_tlv(&t, 0x87, "\x01", 1);
    }
    uint8_t inner[1024];
    kt_buf in = {inner, sizeof(inner), 0};
    kt_tlv(&in, 0x5F29, "\x00", 1);
    kt_tlv(&in, 0x42, car, strlen(car));
    kt_tlv(&in, 0x7F49, tpl, t.len);
    kt_tlv(&in, 0x5F20, chr, strlen(chr));
    if (ext != NULL) {
        kt_raw(&in, ext, ext_len);
    }
    kt_tlv(&b, 0x7F4E, inner, in.len);
    mbedtls_sha256(body, b.len, h, 0);
    size_t sl = sign_hash(signer, h, sig);
    uint8_t all[1200];
    kt_buf a = {all, sizeof(all), 0};
    kt_raw(&a, body, b.len);
    kt_tlv(&a, 0x5F37, sig, sl);
    kt_tlv(&o, 0x7F21, all, a.len);
    return o.len;
}

/* 65 { 73 { 06 id-KeyDomain-UID, 80 uid } } */
static size_t uid_ext(const uint8_t *uid, size_t len, uint8_t *out, size_t cap)
{
    uint8_t in73[200], in65[220];
    kt_buf a = {in73, sizeof(in73), 0}, b = {in65, sizeof(in65), 0}, o = {out, cap, 0};
    kt_tlv(&a, 0x06, oid_kd_uid, sizeof(oid_kd_uid));
    kt_tlv(&a, 0x80, uid, len);
    kt_tlv(&b, 0x73, in73, a.len);
    kt_tlv(&o, 0x65, in65, b.len);
    return o.len;
}

static uint16_t key_domain(uint8_t p1, uint8_t domain, const uint8_t *data, size_t n)
{
    return kt_ext(0x80, 0x52, p1, domain, data, n, 256);
}

/* X of the device key (first certificate of 2F02). */
static size_t device_x(uint8_t *x)
{
    kt_pub dev;
    CHECK(kt_device_key(&dev));
    uint8_t pt[65];
    size_t n = 0;
    CHECK_EQ_INT(mbedtls_ecp_point_write_binary(&dev.grp, &dev.Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, pt, sizeof(pt)), 0);
    kt_pub_free(&dev);
    memcpy(x, pt + 1, (n - 1) / 2);
    return (n - 1) / 2;
}

/* The P1 02 data: GSK certificate, 42, 5F37 (outer, not checked), 54 <sig>. */
static size_t membership(const mbedtls_ecp_keypair *gsk, bool params, const char *car,
                         const mbedtls_ecp_keypair *signer54, const uint8_t *x, size_t xlen, bool with54,
                         uint8_t *out, size_t cap)
{
    kt_buf o = {out, cap, 0};
    o.len = cert(car, "ZZGSKGROUP00001", gsk, params, NULL, 0, gsk, out, cap);
    kt_tlv(&o, 0x42, "ZZGSKGROUP00001", 15);
    uint8_t outer[64] = {1};
    kt_tlv(&o, 0x5F37, outer, sizeof(outer));
    if (with54) {
        uint8_t m[1 + 66], h[32], sig[HSM_CVC_SIG_MAX];
        m[0] = 0x54;
        memcpy(m + 1, x, xlen);
        mbedtls_sha256(m, 1 + xlen, h, 0);
        size_t sl = sign_hash(signer54, h, sig);
        kt_tlv(&o, 0x54, sig, sl);
    }
    return o.len;
}

/* The XKEK key's answer: its public point and the 80 value of its 65/73 extension. */
static void parse_xkek_answer(mbedtls_ecp_keypair *pub, uint8_t *uid, size_t *uid_len)
{
    hsm_tlv t67, t21, t4e, t49, t86, t65, t73, oid, t80;
    CHECK_EQ_INT(hsm_tlv_find(kt_resp, kt_data_len(), 0x67, &t67), 1);
    CHECK_EQ_INT(hsm_tlv_find(t67.value, t67.len, 0x7F21, &t21), 1);
    CHECK_EQ_INT(hsm_tlv_find(t21.value, t21.len, 0x7F4E, &t4e), 1);
    CHECK_EQ_INT(hsm_tlv_find(t4e.value, t4e.len, 0x7F49, &t49), 1);
    CHECK_EQ_INT(hsm_tlv_find(t49.value, t49.len, 0x86, &t86), 1);
    CHECK_EQ_INT(hsm_tlv_find(t4e.value, t4e.len, 0x65, &t65), 1);
    CHECK_EQ_INT(hsm_tlv_find(t65.value, t65.len, 0x73, &t73), 1);
    CHECK_EQ_INT(hsm_tlv_find(t73.value, t73.len, 0x06, &oid), 1);
    CHECK_MEM(oid.value, oid_kd_uid, sizeof(oid_kd_uid));
    CHECK_EQ_INT(hsm_tlv_find(t73.value, t73.len, 0x80, &t80), 1);
    memcpy(uid, t80.value, t80.len);
    *uid_len = t80.len;
    mbedtls_ecp_keypair_init(pub);
    CHECK_EQ_INT(mbedtls_ecp_group_load(&pub->grp, MBEDTLS_ECP_DP_BP256R1), 0);
    CHECK_EQ_INT(mbedtls_ecp_point_read_binary(&pub->grp, &pub->Q, t86.value, t86.len), 0);
}

static uint16_t gen_with(uint8_t id, const kt_type *t, const uint8_t *extra, size_t n)
{
    kt_opts o = {.extra = extra, .extra_len = n};
    return kt_generate(id, t, &o);
}

static bool flash_has(const uint8_t *img, size_t n, const uint8_t *pat, size_t len)
{
    for (size_t i = 0; i + len <= n; i++) {
        if (memcmp(img + i, pat, len) == 0) return true;
    }
    return false;
}

static uint8_t flash_img[1u << 20];

static void test_xkek(void)
{
    static uint8_t req[2048], peer[1024], bad[2048];
    uint8_t x[66], gsk_pt[133], uid[140], ext[200], zero[8] = {0};
    size_t xlen, n, uid_len, ext_len;
    mbedtls_ecp_keypair gsk, other, peer_key, xkek_pub, stranger;

    /* INITIALIZE with 97 = 3: three domains, all FF. */
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    kt_remount();
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x1C, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03, 0x97, 0x01, 0x03), 0x9000);
    kt_login();
    xlen = device_x(x);
    CHECK_EQ_INT(xlen, 32);
    gen(&gsk, MBEDTLS_ECP_DP_BP256R1);
    gen(&other, MBEDTLS_ECP_DP_BP256R1);
    size_t gl = point_of(&gsk, gsk_pt, sizeof(gsk_pt));

    /* P1 02 needs the user PIN (6982, as the other mutating forms). */
    n = membership(&gsk, true, "ZZGSKGROUP00001", &gsk, x, xlen, true, req, sizeof(req));
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(key_domain(0x02, 0, req, n), 0x6982);
    kt_login();
    /* No 54 -> 6700; signed by another key -> 6985; a flipped signature byte -> 6985. */
    size_t nb = membership(&gsk, true, "ZZGSKGROUP00001", &gsk, x, xlen, false, bad, sizeof(bad));
    CHECK_EQ_INT(key_domain(0x02, 0, bad, nb), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x02, 0x00, 0x00), 0x6700); /* no data at all */
    nb = membership(&gsk, true, "ZZGSKGROUP00001", &other, x, xlen, true, bad, sizeof(bad));
    CHECK_EQ_INT(key_domain(0x02, 0, bad, nb), 0x6985);
    memcpy(bad, req, n);
    bad[n - 1] ^= 0x01;
    CHECK_EQ_INT(key_domain(0x02, 0, bad, n), 0x6985);
    /* Signed over another device's X -> 6985. */
    uint8_t x2[32];
    memcpy(x2, x, 32), x2[0] ^= 0x80;
    nb = membership(&gsk, true, "ZZGSKGROUP00001", &gsk, x2, 32, true, bad, sizeof(bad));
    CHECK_EQ_INT(key_domain(0x02, 0, bad, nb), 0x6985);
    /* A GSK certificate without domain parameters whose CAR is not trusted: no curve -> 6985. */
    nb = membership(&gsk, false, "ZZUNKNOWNCA0001", &gsk, x, xlen, true, bad, sizeof(bad));
    CHECK_EQ_INT(key_domain(0x02, 0, bad, nb), 0x6985);
    /* Malformed GSK certificate -> 6984; P2 >= 16 -> 6B00; beyond the table -> 6A86. */
    memcpy(bad, req, n);
    bad[0] = 0x7F, bad[1] = 0x4E;
    CHECK_EQ_INT(key_domain(0x02, 0, bad, n), 0x6984);
    CHECK_EQ_INT(key_domain(0x02, 16, req, n), 0x6B00);
    CHECK_EQ_INT(key_domain(0x02, 3, req, n), 0x6A86);
    /* A domain with shares is no XKEK domain -> 6A86. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x02, 0x01, 0x01, 0x00), 0x9000);
    CHECK_EQ_INT(key_domain(0x02, 2, req, n), 0x6A86);
    /* Nothing was stored by any refusal. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x6A88);

    /* Admitted: FF, 00, zero KCV, UID = X || Y of the GSK. */
    CHECK_EQ_INT(key_domain(0x02, 0, req, n), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 10 + gl - 1);
    CHECK_EQ_INT(kt_resp[0], 0xFF);
    CHECK_EQ_INT(kt_resp[1], 0x00);
    CHECK_MEM(kt_resp + 2, zero, 8);
    CHECK_MEM(kt_resp + 10, gsk_pt + 1, gl - 1);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 10 + gl - 1);
    /* The same membership again is fine; another group's on the same domain is not. */
    CHECK_EQ_INT(key_domain(0x02, 0, req, n), 0x9000);
    nb = membership(&other, true, "ZZGSKGROUP00001", &other, x, xlen, true, bad, sizeof(bad));
    CHECK_EQ_INT(key_domain(0x02, 0, bad, nb), 0x6A86);
    /* P1 01 on the XKEK domain: it exists -> 6A86; share import -> 6986. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x01, 0x00, 0x01, 0x01, 0x00), 0x6A86);
    uint8_t share[5 + 32] = {0x80, 0x52, 0x00, 0x00, 0x20};
    CHECK_EQ_INT(kt_tx(share, sizeof(share)), 0x6986);

    /* XKEK key: 91 84 needs 92 (6700) naming a domain with a UID (6700). */
    static const uint8_t no92[] = {0x91, 0x01, 0x84};
    static const uint8_t d1[] = {0x91, 0x01, 0x84, 0x92, 0x01, 0x01};
    static const uint8_t d16[] = {0x91, 0x01, 0x84, 0x92, 0x01, 0x10};
    static const uint8_t d0[] = {0x91, 0x01, 0x84, 0x92, 0x01, 0x00};
    CHECK_EQ_INT(gen_with(0x01, &bp256, no92, sizeof(no92)), 0x6700);
    CHECK_EQ_INT(gen_with(0x01, &bp256, d1, sizeof(d1)), 0x6700);
    CHECK_EQ_INT(gen_with(0x01, &bp256, d16, sizeof(d16)), 0x6700);
    CHECK_EQ_INT(gen_with(0x01, &bp256, d0, sizeof(d0)), 0x9000);
    parse_xkek_answer(&xkek_pub, uid, &uid_len);
    CHECK_EQ_INT(uid_len, gl - 1);
    CHECK_MEM(uid, gsk_pt + 1, gl - 1);
    /* A plain EC key (no 84 in its list) in the same domain, for the 6985 below. */
    static const uint8_t plain92[] = {0x92, 0x01, 0x00};
    CHECK_EQ_INT(gen_with(0x02, &bp256, plain92, sizeof(plain92)), 0x9000);

    /* The peer: a key made here, certificate with the same UID. */
    gen(&peer_key, MBEDTLS_ECP_DP_BP256R1);
    ext_len = uid_ext(gsk_pt + 1, gl - 1, ext, sizeof(ext));
    size_t pl = cert("UTCA00001", "UTCDUMMY00001", &peer_key, true, ext, ext_len, &peer_key, peer, sizeof(peer));

    /* Refusals before anything is derived. */
    CHECK_EQ_INT(kt_decipher(0x09, 0x84, peer, pl), 0x6A82);
    CHECK_EQ_INT(kt_decipher(0x02, 0x84, peer, pl), 0x6985);
    uint8_t other_uid[64];
    memcpy(other_uid, gsk_pt + 1, 64), other_uid[5] ^= 1;
    size_t e2 = uid_ext(other_uid, 64, ext, sizeof(ext));
    size_t bl = cert("UTCA00001", "UTCDUMMY00001", &peer_key, true, ext, e2, &peer_key, bad, sizeof(bad));
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, bad, bl), 0x6A88);
    bl = cert("UTCA00001", "UTCDUMMY00001", &peer_key, true, NULL, 0, &peer_key, bad, sizeof(bad));
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, bad, bl), 0x6700);
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, (const uint8_t *)"\x7F\x21\x01", 3), 0x6984);
    /* A point on another curve -> 6A80. */
    gen(&stranger, MBEDTLS_ECP_DP_SECP256R1);
    ext_len = uid_ext(gsk_pt + 1, gl - 1, ext, sizeof(ext));
    bl = cert("UTCA00001", "UTCDUMMY00001", &stranger, true, ext, ext_len, &stranger, bad, sizeof(bad));
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, bad, bl), 0x6A80);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x9000);
    CHECK_MEM(kt_resp + 2, zero, 8);
    /* A key of the domain cannot be wrapped before the DKEK exists. */
    CHECK_EQ_INT(gen_with(0x03, &p256, plain92, sizeof(plain92)), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x03, 0x92, 0x00, 0x00, 0x00), 0x6A88);

    /* Derivation: DKEK = x of ECDH(peer d, XKEK key Q), computed here. */
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, peer, pl), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 0);
    mbedtls_mpi z;
    mbedtls_mpi_init(&z);
    CHECK_EQ_INT(mbedtls_ecdh_compute_shared(&peer_key.grp, &z, &xkek_pub.Q, &peer_key.d, kt_rng, NULL), 0);
    uint8_t dkek[32], h[32];
    CHECK_EQ_INT(mbedtls_mpi_write_binary(&z, dkek, 32), 0);
    mbedtls_mpi_free(&z);
    mbedtls_sha256(dkek, 32, h, 0);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 10 + gl - 1);
    CHECK_EQ_INT(kt_resp[0], 0xFF);
    CHECK_MEM(kt_resp + 2, h, 8);
    /* Now it wraps under the derived DKEK (the blob starts with its KCV) and unwraps again;
     * the XKEK key itself never leaves (its list lacks 92). */
    static uint8_t blob[2048];
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x03, 0x92, 0x00, 0x00, 0x00), 0x9000);
    size_t blen = kt_data_len();
    CHECK(blen > 8 && blen <= sizeof(blob));
    memcpy(blob, kt_resp, blen);
    CHECK_MEM(blob, h, 8);
    CHECK_EQ_INT(kt_ext(0x80, 0x74, 0x04, 0x93, blob, blen, 65536), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x01, 0x92, 0x00, 0x00, 0x00), 0x6A81);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x03), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x04), 0x9000);
    /* Again with the same peer: no change; with another peer: 6986 until cleared. */
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, peer, pl), 0x9000);
    mbedtls_ecp_keypair peer2;
    gen(&peer2, MBEDTLS_ECP_DP_BP256R1);
    bl = cert("UTCA00001", "UTCDUMMY00002", &peer2, true, ext, ext_len, &peer2, bad, sizeof(bad));
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, bad, bl), 0x6986);
    /* The DKEK is sealed: not in the raw flash. */
    n = kt_flash_image(flash_img, sizeof(flash_img));
    CHECK(n > 0 && !flash_has(flash_img, n, dkek, 32));
    /* The card still answers after every error. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x9000);
    CHECK_MEM(kt_resp + 2, h, 8);

    /* P1 04 clears the DKEK, the UID stays; P1 04/03 need the PIN. */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x04, 0x00, 0x00), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x00), 0x6982);
    kt_login();
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x04, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 10 + gl - 1);
    CHECK_MEM(kt_resp + 2, zero, 8);
    CHECK_MEM(kt_resp + 10, gsk_pt + 1, gl - 1);
    /* Now the other peer may be derived. */
    CHECK_EQ_INT(kt_decipher(0x01, 0x84, bad, bl), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x9000);
    CHECK(memcmp(kt_resp + 2, zero, 8) != 0 && memcmp(kt_resp + 2, h, 8) != 0);

    /* P1 03: 6A89 while keys reference the domain; then 6A88 (success) and the domain is gone. */
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x00), 0x6A89);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x01), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x00), 0x6A89);
    CHECK_EQ_INT(KT_TX(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x02), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x00), 0x6A88);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x6A88);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x03, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x04, 0x00, 0x00), 0x6A88);
    size_t sz = 0;
    CHECK_EQ_INT(hsm_store_size(HSM_ID_XKEK_FIRST, &sz), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_DKEK_FIRST, &sz), HSM_ERR_NOT_FOUND);
    /* The domain can join again afterwards. */
    CHECK_EQ_INT(key_domain(0x02, 0, req, n = membership(&gsk, true, "ZZGSKGROUP00001", &gsk, x, xlen, true, req, sizeof(req))), 0x9000);

    CHECK_EQ_INT(hsm_store_size(HSM_ID_XKEK_FIRST, &sz), HSM_OK);
    /* INITIALIZE (with the SO-PIN) wipes the UID with the rest of the initialised state. */
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x1C, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03, 0x97, 0x01, 0x03), 0x9000);
    CHECK_EQ_INT(hsm_store_size(HSM_ID_XKEK_FIRST, &sz), HSM_ERR_NOT_FOUND);
    CHECK_EQ_INT(KT_TX(0x80, 0x52, 0x00, 0x00, 0x00), 0x6A88);

    mbedtls_ecp_keypair_free(&gsk), mbedtls_ecp_keypair_free(&other);
    mbedtls_ecp_keypair_free(&peer_key), mbedtls_ecp_keypair_free(&peer2);
    mbedtls_ecp_keypair_free(&xkek_pub), mbedtls_ecp_keypair_free(&stranger);
}

int main(void)
{
    test_xkek();
    return CHECK_DONE();
}
