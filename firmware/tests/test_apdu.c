/* test_apdu.c — every ISO 7816-4 case of hsm_apdu_parse, its boundaries, and malformed input. */
#include <stdlib.h>

#include "check.h"
#include "hsm/apdu.h"
#include "hsm/err.h"

static uint8_t buf[HSM_CAPDU_MAX + 16];

/* Builds CLA INS P1 P2 followed by `hdr` length bytes, nc data bytes (0xA5), `tail` bytes. */
static size_t build(const uint8_t *lc, size_t lc_len, size_t nc, const uint8_t *le, size_t le_len)
{
    size_t n = 0;
    buf[n++] = 0x80;
    buf[n++] = 0x68;
    buf[n++] = 0x01;
    buf[n++] = 0x02;
    if (lc_len) {
        memcpy(buf + n, lc, lc_len);
    }
    n += lc_len;
    memset(buf + n, 0xA5, nc);
    n += nc;
    if (le_len) {
        memcpy(buf + n, le, le_len);
    }
    return n + le_len;
}

struct ok_case {
    const char *name;
    uint8_t lc[3];
    size_t lc_len, nc;
    uint8_t le[2];
    size_t le_len;
    int iso_case;
    bool ext;
    size_t ne;
};

static void test_valid(void)
{
    static const struct ok_case cases[] = {
        {"case 1", {0}, 0, 0, {0}, 0, 1, false, 0},
        {"2S Le=01", {0}, 0, 0, {0x01}, 1, 2, false, 1},
        {"2S Le=00 -> 256", {0}, 0, 0, {0x00}, 1, 2, false, 256},
        {"3S Lc=01", {0x01}, 1, 1, {0}, 0, 3, false, 0},
        {"3S Lc=FF", {0xFF}, 1, 255, {0}, 0, 3, false, 0},
        {"4S Lc=01 Le=01", {0x01}, 1, 1, {0x01}, 1, 4, false, 1},
        {"4S Lc=FF Le=00", {0xFF}, 1, 255, {0x00}, 1, 4, false, 256},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ok_case *tc = &cases[i];
        size_t n = build(tc->lc, tc->lc_len, tc->nc, tc->le, tc->le_len);
        hsm_apdu a;
        int rc = hsm_apdu_parse(buf, n, &a);
        if (rc != HSM_OK) {
            fprintf(stderr, "case %s\n", tc->name);
        }
        CHECK_EQ_INT(rc, HSM_OK);
        CHECK_EQ_INT(a.iso_case, tc->iso_case);
        CHECK_EQ_INT(a.extended, tc->ext);
        CHECK_EQ_INT(a.nc, tc->nc);
        CHECK_EQ_INT(a.ne, tc->ne);
        CHECK(a.cla == 0x80 && a.ins == 0x68 && a.p1 == 0x01 && a.p2 == 0x02);
        CHECK(tc->nc == 0 ? a.data == NULL : a.data == buf + 5);
    }
}

static void test_extended(void)
{
    hsm_apdu a;
    /* 2E with Le 0001, FFFF and 0000 (-> 65536). */
    const struct { uint8_t hi, lo; size_t ne; } les[] = {{0, 1, 1}, {0x01, 0x00, 256}, {0x01, 0x01, 257}, {0xFF, 0xFF, 65535}, {0, 0, 65536}};
    for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
        uint8_t ext[3] = {0x00, les[i].hi, les[i].lo};
        size_t n = build(ext, 3, 0, NULL, 0);
        CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_OK);
        CHECK_EQ_INT(a.iso_case, 2);
        CHECK(a.extended);
        CHECK_EQ_INT(a.ne, les[i].ne);
        CHECK_EQ_INT(a.nc, 0);
    }
    /* 3E and 4E at Nc = 1, 256, 65535. */
    const size_t ncs[] = {1, 255, 256, 65535};
    for (size_t i = 0; i < sizeof(ncs) / sizeof(ncs[0]); i++) {
        uint8_t lc[3] = {0x00, (uint8_t)(ncs[i] >> 8), (uint8_t)ncs[i]};
        size_t n = build(lc, 3, ncs[i], NULL, 0);
        CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_OK);
        CHECK_EQ_INT(a.iso_case, 3);
        CHECK_EQ_INT(a.nc, ncs[i]);
        CHECK_EQ_INT(a.ne, 0);
        CHECK(a.data == buf + 7);

        const uint8_t le0[2] = {0x00, 0x00}, le1[2] = {0x01, 0x02};
        n = build(lc, 3, ncs[i], le0, 2);
        CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_OK);
        CHECK_EQ_INT(a.iso_case, 4);
        CHECK_EQ_INT(a.nc, ncs[i]);
        CHECK_EQ_INT(a.ne, 65536);
        n = build(lc, 3, ncs[i], le1, 2);
        CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_OK);
        CHECK_EQ_INT(a.ne, 0x0102);
    }
}

static void test_malformed(void)
{
    hsm_apdu a;
    const uint8_t *none = NULL;
    /* Too short. */
    for (size_t n = 0; n < 4; n++) {
        CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    }
    CHECK_EQ_INT(hsm_apdu_parse(none, 10, &a), HSM_ERR_WRONG_LENGTH);
    /* Short Lc larger than the data, and data followed by two extra bytes. */
    uint8_t lc5 = 5;
    size_t n = build(&lc5, 1, 4, NULL, 0);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    const uint8_t two[2] = {0, 0};
    n = build(&lc5, 1, 5, two, 2);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    /* Extended: truncated Lc (6 bytes), Lc = 0000 with data, Lc beyond data, one Le byte. */
    uint8_t ext6[2] = {0x00, 0x01};
    n = build(ext6, 2, 0, NULL, 0);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    uint8_t lc0[3] = {0x00, 0x00, 0x00};
    n = build(lc0, 3, 3, NULL, 0);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    uint8_t lc10[3] = {0x00, 0x00, 0x0A};
    n = build(lc10, 3, 9, NULL, 0);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    uint8_t le1 = 0x10;
    n = build(lc10, 3, 10, &le1, 1);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    /* Extended data with a trailing 3-byte "Le". */
    uint8_t le3[3] = {0, 0, 0};
    n = build(lc10, 3, 10, le3, 3);
    CHECK_EQ_INT(hsm_apdu_parse(buf, n, &a), HSM_ERR_WRONG_LENGTH);
    /* A failed parse leaves no stale data pointer. */
    CHECK(a.data == NULL && a.nc == 0);
}

/* Every length from 4 to 300 with random bytes: parse either fails cleanly or yields fields
 * that stay inside the buffer. */
static void test_no_overrun(void)
{
    srand(7);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 4 + (size_t)(rand() % 300);
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t)(rand() % 4 == 0 ? 0 : rand());
        }
        hsm_apdu a;
        if (hsm_apdu_parse(buf, n, &a) == HSM_OK) {
            CHECK(a.nc == 0 || (a.data >= buf && a.data + a.nc <= buf + n));
            CHECK(a.iso_case >= 1 && a.iso_case <= 4);
        }
    }
}

int main(void)
{
    test_valid();
    test_extended();
    test_malformed();
    test_no_overrun();
    return CHECK_DONE();
}
