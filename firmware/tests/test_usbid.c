/*
 * test_usbid.c — the USB identity (firmware/board/usbid.c): serial string = the card's serial
 * (expected values computed independently: Python hashlib + base64.b32encode over
 * "pico-hsm/devid/serial/v1" || uid), product and VID:PID from the PHY record, the rescue
 * identity, and the UTF-16LE string descriptors.
 */
#include "check.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/phy.h"
#include "usbid.h"

static const uint8_t uid_a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t uid_b[8] = {0xE6, 0x60, 0x38, 0xB7, 0x13, 0x6B, 0x4B, 0x2A};

static void test_serial(void)
{
    usbid id;
    CHECK_EQ_INT(usbid_build(uid_a, NULL, false, 0x2E8A, 0x10FD, &id), HSM_OK);
    CHECK(strcmp(id.serial, "ZZPHWENJUE2") == 0);
    CHECK(strcmp(id.product, "Pico HSM") == 0);
    CHECK_EQ_INT(id.vid, 0x2E8A);
    CHECK_EQ_INT(id.pid, 0x10FD);

    CHECK_EQ_INT(usbid_build(uid_b, NULL, false, 0x2E8A, 0x10FD, &id), HSM_OK);
    CHECK(strcmp(id.serial, "ZZP7NK5BY4Q") == 0);

    /* the same string the card reports (devid.h) */
    char card[HSM_DEVID_SERIAL_LEN + 1];
    CHECK_EQ_INT(hsm_devid_serial_from_uid(uid_b, card), HSM_OK);
    CHECK(strcmp(id.serial, card) == 0);
}

static void test_phy_and_rescue(void)
{
    static const uint8_t rec[] = {0x00, 0x04, 0x20, 0xA0, 0x42, 0x30, /* NitroHSM ids */
                                  0x09, 0x05, 'T', 'e', 's', 't', 0x00};
    hsm_phy phy;
    CHECK_EQ_INT(hsm_phy_parse(rec, sizeof(rec), &phy), HSM_OK);
    usbid id;
    CHECK_EQ_INT(usbid_build(uid_a, &phy, false, 0x2E8A, 0x10FD, &id), HSM_OK);
    CHECK_EQ_INT(id.vid, 0x20A0);
    CHECK_EQ_INT(id.pid, 0x4230);
    CHECK(strcmp(id.product, "Test") == 0);
    CHECK(strcmp(id.serial, "ZZPHWENJUE2") == 0);

    /* rescue: the record is ignored, the build's ids, a product that says so */
    CHECK_EQ_INT(usbid_build(uid_a, &phy, true, 0x1050, 0x0407, &id), HSM_OK);
    CHECK_EQ_INT(id.vid, 0x1050);
    CHECK_EQ_INT(id.pid, 0x0407);
    CHECK(strcmp(id.product, "Pico HSM (rescue)") == 0);
    CHECK(strcmp(id.serial, "ZZPHWENJUE2") == 0); /* identity survives rescue */

    /* the longest product string fits */
    hsm_phy_defaults(&phy);
    phy.present = HSM_PHY_HAS_PRODUCT;
    memset(phy.product, 'p', HSM_PHY_PRODUCT_MAX);
    CHECK_EQ_INT(usbid_build(uid_a, &phy, false, 0x2E8A, 0x10FD, &id), HSM_OK);
    CHECK_EQ_INT(strlen(id.product), HSM_PHY_PRODUCT_MAX);
}

static void test_string_desc(void)
{
    uint16_t d[40];
    size_t n = usbid_string_desc("ZZPHWENJUE2", d, 40);
    CHECK_EQ_INT(n, 11);
    CHECK_EQ_INT(d[0] & 0xFF, 2 + 2 * 11); /* bLength */
    CHECK_EQ_INT(d[0] >> 8, 0x03);         /* STRING */
    CHECK_EQ_INT(d[1], 'Z');
    CHECK_EQ_INT(d[11], '2');

    /* cut to the buffer */
    n = usbid_string_desc("abcdefgh", d, 4);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(d[0] & 0xFF, 8);
    CHECK_EQ_INT(d[3], 'c');

    /* non-ASCII bytes cannot become something else than '?' */
    n = usbid_string_desc("a\x01\xC3", d, 40);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(d[2], '?');
    CHECK_EQ_INT(d[3], '?');

    /* empty, NULL, and at most 126 characters (bLength 254) */
    CHECK_EQ_INT(usbid_string_desc("", d, 40), 0);
    CHECK_EQ_INT(d[0], 0x0302);
    CHECK_EQ_INT(usbid_string_desc(NULL, d, 40), 0);
    char big[200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    uint16_t dd[200];
    CHECK_EQ_INT(usbid_string_desc(big, dd, 200), 126);
    CHECK_EQ_INT(dd[0] & 0xFF, 254);
}

int main(void)
{
    test_serial();
    test_phy_and_rescue();
    test_string_desc();
    return CHECK_DONE();
}
