/*
 * test_phy.c — the PHY record (EF E020, extensions spec 3.6): defaults, the lenient boot-time
 * reader, the strict writer's check, serialisation order and round trips, and the VID/PID
 * choice with the rescue fallback. Expected bytes are written out from the spec's table.
 */
#include <stdlib.h>

#include "check.h"
#include "hsm/err.h"
#include "hsm/phy.h"

static void test_defaults(void)
{
    hsm_phy p;
    CHECK_EQ_INT(hsm_phy_parse(NULL, 0, &p), HSM_OK);
    CHECK_EQ_INT(p.present, 0);
    CHECK_EQ_INT(p.vid, 0x2E8A);
    CHECK_EQ_INT(p.pid, 0x10FD);
    CHECK_EQ_INT(p.led_brightness, 15);
    CHECK_EQ_INT(p.led_driver, HSM_PHY_LED_GPIO);
    CHECK(strcmp(p.product, "Pico HSM") == 0);
    CHECK_EQ_INT(hsm_phy_button_timeout_ms(&p), 15000); /* spec 3.5 Decision: absent = 15 s */

    uint16_t vid, pid;
    hsm_phy_usb_id(&p, false, 0x20A0, 0x4230, &vid, &pid); /* no record: the build's choice */
    CHECK_EQ_INT(vid, 0x20A0);
    CHECK_EQ_INT(pid, 0x4230);
}

/* Every known field, in the spec's serialisation order. */
static const uint8_t full[] = {
    0x00, 0x04, 0x12, 0x09, 0x44, 0x55,             /* VID 1209, PID 4455 */
    0x04, 0x01, 0x19,                               /* LED GPIO 25 */
    0x05, 0x01, 0x07,                               /* brightness 7 */
    0x06, 0x02, 0x00, 0x0A,                         /* dimmable | steady */
    0x08, 0x01, 0x1E,                               /* button 30 s */
    0x09, 0x07, 'M', 'y', ' ', 'H', 'S', 'M', 0x00, /* product "My HSM" */
    0x0A, 0x04, 0x00, 0x00, 0x07, 0xFF,             /* curves */
    0x0B, 0x01, 0x01,                               /* CCID only */
    0x0C, 0x02, 0x03, 0x02,                         /* WS2812, GRB */
};

static void test_full_record(void)
{
    hsm_phy p;
    CHECK_EQ_INT(hsm_phy_parse(full, sizeof(full), &p), HSM_OK);
    CHECK_EQ_INT(p.present, 0x1FF);
    CHECK_EQ_INT(p.vid, 0x1209);
    CHECK_EQ_INT(p.pid, 0x4455);
    CHECK_EQ_INT(p.led_gpio, 25);
    CHECK_EQ_INT(p.led_brightness, 7);
    CHECK_EQ_INT(p.opts, HSM_PHY_OPT_LED_DIMMABLE | HSM_PHY_OPT_LED_STEADY);
    CHECK_EQ_INT(p.button_timeout_s, 30);
    CHECK_EQ_INT(hsm_phy_button_timeout_ms(&p), 30000);
    CHECK(strcmp(p.product, "My HSM") == 0);
    CHECK_EQ_INT(p.curves, 0x7FF);
    CHECK_EQ_INT(p.usb_itf, 1);
    CHECK_EQ_INT(p.led_driver, HSM_PHY_LED_WS2812);
    CHECK_EQ_INT(p.led_order, 2);
    CHECK_EQ_INT(hsm_phy_validate(full, sizeof(full)), HSM_OK);

    uint8_t out[HSM_PHY_MAX];
    size_t n = 0;
    CHECK_EQ_INT(hsm_phy_serialise(&p, out, sizeof(out), &n), HSM_OK);
    CHECK_EQ_INT(n, sizeof(full));
    CHECK_MEM(out, full, sizeof(full));

    /* VID/PID from the record, unless rescued. */
    uint16_t vid, pid;
    hsm_phy_usb_id(&p, false, 0x2E8A, 0x10FD, &vid, &pid);
    CHECK_EQ_INT(vid, 0x1209);
    CHECK_EQ_INT(pid, 0x4455);
    hsm_phy_usb_id(&p, true, 0x2E8A, 0x10FD, &vid, &pid);
    CHECK_EQ_INT(vid, 0x2E8A);
    CHECK_EQ_INT(pid, 0x10FD);

    /* Too small a buffer: refused at every size short of the record. */
    for (size_t cap = 0; cap < sizeof(full); cap++) {
        CHECK_EQ_INT(hsm_phy_serialise(&p, out, cap, &n), HSM_ERR_NO_SPACE);
    }
}

/* The lenient reader skips what it cannot use; the strict one refuses it. */
static void test_skipped_fields(void)
{
    static const struct {
        const char *what;
        uint8_t rec[12];
        size_t len;
    } cases[] = {
        {"VID 0000", {0x00, 0x04, 0x00, 0x00, 0x12, 0x34}, 6},
        {"VID FFFF", {0x00, 0x04, 0xFF, 0xFF, 0x12, 0x34}, 6},
        {"VID/PID 3 bytes", {0x00, 0x03, 0x12, 0x09, 0x44}, 5},
        {"VID/PID 5 bytes", {0x00, 0x05, 0x12, 0x09, 0x44, 0x55, 0x66}, 7},
        {"LED GPIO 48", {0x04, 0x01, 48}, 3},
        {"brightness 16", {0x05, 0x01, 16}, 3},
        {"options 1 byte", {0x06, 0x01, 0x02}, 3},
        {"product without NUL", {0x09, 0x03, 'a', 'b', 'c'}, 5},
        {"product with control", {0x09, 0x03, 'a', 0x07, 0x00}, 5},
        {"product with NUL inside", {0x09, 0x03, 'a', 0x00, 0x00}, 5},
        {"product only NUL", {0x09, 0x01, 0x00}, 3},
        {"product high byte", {0x09, 0x02, 0xC3, 0x00}, 4},
        {"interfaces none", {0x0B, 0x01, 0x00}, 3},
        {"interfaces unknown bit", {0x0B, 0x01, 0x21}, 3},
        {"LED driver 06", {0x0C, 0x01, 0x06}, 3},
        {"LED order 06", {0x0C, 0x02, 0x01, 0x06}, 4},
        {"LED driver 3 bytes", {0x0C, 0x03, 0x01, 0x00, 0x00}, 5},
        {"button 2 bytes", {0x08, 0x02, 0x00, 0x0F}, 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hsm_phy p;
        int rc = hsm_phy_parse(cases[i].rec, cases[i].len, &p);
        CHECK_EQ_INT(rc, HSM_OK);
        if (p.present != 0) {
            fprintf(stderr, "case %s: present %04x\n", cases[i].what, p.present);
        }
        CHECK_EQ_INT(p.present, 0);
        CHECK_EQ_INT(p.vid, 0x2E8A);
        CHECK_EQ_INT(p.led_brightness, 15);
        CHECK(strcmp(p.product, "Pico HSM") == 0);
        rc = hsm_phy_validate(cases[i].rec, cases[i].len);
        if (rc != HSM_ERR_DATA) {
            fprintf(stderr, "case %s: validate %d\n", cases[i].what, rc);
        }
        CHECK_EQ_INT(rc, HSM_ERR_DATA);
    }

    /* A bad field among good ones: only that field falls back. */
    static const uint8_t mixed[] = {0x00, 0x04, 0x00, 0x00, 0x12, 0x34, /* VID 0000: skipped */
                                    0x05, 0x01, 0x03, 0x7F, 0x02, 0xAA, 0xBB, /* unknown 7F */
                                    0x08, 0x01, 0x00};                      /* button: no wait */
    hsm_phy p;
    CHECK_EQ_INT(hsm_phy_parse(mixed, sizeof(mixed), &p), HSM_OK);
    CHECK_EQ_INT(p.present, HSM_PHY_HAS_LED_BRIGHTNESS | HSM_PHY_HAS_BUTTON_TIMEOUT);
    CHECK_EQ_INT(p.vid, 0x2E8A);
    CHECK_EQ_INT(p.led_brightness, 3);
    CHECK_EQ_INT(hsm_phy_button_timeout_ms(&p), 0);
    CHECK_EQ_INT(hsm_phy_validate(mixed, sizeof(mixed)), HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_phy_validate(mixed + 6, sizeof(mixed) - 6), HSM_OK); /* unknown tags pass */

    /* The lenient reader keeps the last of repeated tags; the strict one refuses repeats. */
    static const uint8_t twice[] = {0x05, 0x01, 0x03, 0x05, 0x01, 0x09};
    CHECK_EQ_INT(hsm_phy_parse(twice, sizeof(twice), &p), HSM_OK);
    CHECK_EQ_INT(p.led_brightness, 9);
    CHECK_EQ_INT(hsm_phy_validate(twice, sizeof(twice)), HSM_ERR_DATA);

    /* Gnuk's PID 0000 is a real product id. */
    static const uint8_t gnuk[] = {0x00, 0x04, 0x23, 0x4B, 0x00, 0x00};
    CHECK_EQ_INT(hsm_phy_validate(gnuk, sizeof(gnuk)), HSM_OK);
    CHECK_EQ_INT(hsm_phy_parse(gnuk, sizeof(gnuk), &p), HSM_OK);
    CHECK_EQ_INT(p.pid, 0x0000);
}

/* A record whose entries do not fit: refused as a whole, defaults, rescue VID/PID. */
static void test_torn(void)
{
    hsm_phy p;
    /* every strict prefix of the full record that cuts an entry */
    size_t cuts = 0;
    for (size_t n = 1; n < sizeof(full); n++) {
        size_t off = 0;
        while (off + 2 <= n && off + 2 + full[off + 1] <= n) {
            off += 2 + full[off + 1];
        }
        if (off == n) {
            CHECK_EQ_INT(hsm_phy_parse(full, n, &p), HSM_OK); /* ends on an entry boundary */
            continue;
        }
        cuts++;
        CHECK_EQ_INT(hsm_phy_parse(full, n, &p), HSM_ERR_DATA);
        CHECK_EQ_INT(p.present, 0);
        CHECK_EQ_INT(p.vid, 0x2E8A);
        CHECK_EQ_INT(hsm_phy_validate(full, n), HSM_ERR_DATA);
    }
    CHECK(cuts > 20);

    static const uint8_t ff[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}; /* erased */
    CHECK_EQ_INT(hsm_phy_parse(ff, sizeof(ff), &p), HSM_ERR_DATA);
    CHECK_EQ_INT(hsm_phy_parse(NULL, 3, &p), HSM_ERR_DATA);

    CHECK_EQ_INT(hsm_phy_validate(full, 0), HSM_ERR_WRONG_LENGTH);
    CHECK_EQ_INT(hsm_phy_validate(NULL, 4), HSM_ERR_WRONG_LENGTH);
    uint8_t big[HSM_PHY_MAX + 2];
    memset(big, 0, sizeof(big));
    for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
        big[i] = 0x70; /* unknown, empty */
    }
    CHECK_EQ_INT(hsm_phy_validate(big, HSM_PHY_MAX), HSM_OK);
    CHECK_EQ_INT(hsm_phy_validate(big, HSM_PHY_MAX + 2), HSM_ERR_WRONG_LENGTH);
}

static void test_serialise(void)
{
    hsm_phy p;
    hsm_phy_defaults(&p);
    uint8_t out[HSM_PHY_MAX];
    size_t n = 99;
    /* nothing present: the option word alone, as the reference always writes it */
    CHECK_EQ_INT(hsm_phy_serialise(&p, out, sizeof(out), &n), HSM_OK);
    static const uint8_t only_opts[] = {0x06, 0x02, 0x00, 0x00};
    CHECK_EQ_INT(n, sizeof(only_opts));
    CHECK_MEM(out, only_opts, sizeof(only_opts));

    /* the longest product string */
    p.present = HSM_PHY_HAS_PRODUCT | HSM_PHY_HAS_VIDPID;
    p.vid = 0x20A0;
    p.pid = 0x4230;
    memset(p.product, 'x', HSM_PHY_PRODUCT_MAX);
    p.product[HSM_PHY_PRODUCT_MAX] = 0;
    CHECK_EQ_INT(hsm_phy_serialise(&p, out, sizeof(out), &n), HSM_OK);
    CHECK_EQ_INT(n, 6 + 4 + 2 + 32);
    CHECK_EQ_INT(out[10], 0x09);
    CHECK_EQ_INT(out[11], 32);
    CHECK_EQ_INT(out[n - 1], 0);
    CHECK_EQ_INT(hsm_phy_validate(out, n), HSM_OK);
    hsm_phy q;
    CHECK_EQ_INT(hsm_phy_parse(out, n, &q), HSM_OK);
    p.present |= HSM_PHY_HAS_OPTS; /* serialise always writes 06 */
    CHECK(memcmp(&p, &q, sizeof(p)) == 0);

    /* Random records: the lenient reader never fails on well-framed input, and what it read
     * serialises into a record that passes the strict check and reads back equal. */
    srand(5);
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t rec[64];
        size_t len = 0;
        while (len < 40) {
            static const uint8_t tags[] = {0x00, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x33};
            uint8_t tag = tags[rand() % sizeof(tags)];
            uint8_t l = (uint8_t)(rand() % 6);
            if (tag == 0x09) {
                l = (uint8_t)(rand() % 10);
            }
            rec[len++] = tag;
            rec[len++] = l;
            for (uint8_t i = 0; i < l; i++) {
                uint8_t b = (uint8_t)rand();
                rec[len++] = tag == 0x09 ? (i + 1 == l ? 0 : (uint8_t)(0x1E + b % 0x64)) : b;
            }
        }
        CHECK_EQ_INT(hsm_phy_parse(rec, len, &p), HSM_OK);
        CHECK_EQ_INT(hsm_phy_serialise(&p, out, sizeof(out), &n), HSM_OK);
        CHECK_EQ_INT(hsm_phy_validate(out, n), HSM_OK);
        CHECK_EQ_INT(hsm_phy_parse(out, n, &q), HSM_OK);
        p.present |= HSM_PHY_HAS_OPTS; /* serialise always writes 06 */
        CHECK(memcmp(&p, &q, sizeof(p)) == 0);
    }
}

/* What the boot does with each answer of the store. */
static void test_boot_record(void)
{
    hsm_phy p;
    CHECK(hsm_phy_boot_record(HSM_ERR_NOT_FOUND, NULL, 0, &p)); /* no record: defaults */
    CHECK_EQ_INT(p.present, 0);
    CHECK(hsm_phy_boot_record(HSM_OK, full, sizeof(full), &p));
    CHECK_EQ_INT(p.vid, 0x1209);
    CHECK(hsm_phy_boot_record(HSM_OK, full, 0, &p)); /* an empty record: defaults */
    CHECK_EQ_INT(p.present, 0);
    /* rescue: unreadable, torn, or longer than any writer stores */
    CHECK(!hsm_phy_boot_record(HSM_ERR_FLASH, full, sizeof(full), &p));
    CHECK_EQ_INT(p.present, 0);
    CHECK_EQ_INT(p.vid, 0x2E8A);
    CHECK(!hsm_phy_boot_record(HSM_OK, full, sizeof(full) - 1, &p));
    CHECK_EQ_INT(p.present, 0);
    CHECK(!hsm_phy_boot_record(HSM_OK, full, HSM_PHY_MAX + 1, &p));
    CHECK_EQ_INT(p.present, 0);
}

int main(void)
{
    test_boot_record();
    test_defaults();
    test_full_record();
    test_skipped_fields();
    test_torn();
    test_serialise();
    return CHECK_DONE();
}
