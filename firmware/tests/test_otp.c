/* test_otp.c — the PIN keys bound to the OTP root (pin.h, port/otp.h, EXTRAS F0 in
 * cmd_extras.c) through the card's APDU entry point on the RAM platform, whose OTP root is
 * simulated with fault injection (ram_port.h):
 *   - provisioning is refused without the SO-PIN, on a chip without OTP, when already done,
 *     and after a failed write; a wrong SO-PIN costs a try;
 *   - after provisioning both PINs still verify (wrong ones still fail and count), the SO-PIN's
 *     wrap is re-bound at once, the user PIN's at its next VERIFY; the device record is
 *     inspected and each wrap opened with a KEK computed here from the documented formula;
 *   - the flash image moved to a chip without the root, with another root, or with the root
 *     unreadable: the right PIN does not verify (6400 fail-closed without a root, 63Cx with a
 *     different one);
 *   - a power cut at every flash operation of a re-binding VERIFY and of provisioning leaves a
 *     PIN that verifies. */
#include <stdlib.h>

#include "check.h"
#include "device.h"
#include "hsm/apdu.h"
#include "hsm/card.h"
#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/otp.h"
#include "hsm/store.h"
#include "ids.h"
#include "mbedtls/gcm.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#include "mbedtls/pkcs5.h"
#include "pin.h"
#include "ram_port.h"

static uint8_t resp[HSM_RAPDU_MAX];
static size_t rlen;

static uint16_t tx(const uint8_t *cmd, size_t n)
{
    rlen = hsm_card_apdu(cmd, n, resp, sizeof(resp));
    return rlen < 2 ? 0 : (uint16_t)((resp[rlen - 2] << 8) | resp[rlen - 1]);
}
#define TX(...) tx((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

#define SELECT_APP 0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00
#define PIN '6', '4', '8', '2', '1', '9'
#define PIN2 '1', '2', '3', '4', '5', '6', '7'
#define SOPIN 0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30
#define SOPIN2 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
#define WRONG '0', '0', '0', '0', '0', '0'
#define VERIFY_USER 0x00, 0x20, 0x00, 0x81, 0x06, PIN
#define VERIFY_SO 0x00, 0x20, 0x00, 0x88, 0x08, SOPIN
#define OTP_STATUS 0x80, 0x64, 0xF0, 0x00, 0x00
#define OTP_PROVISION 0x80, 0x64, 0xF0, 0x01, 0x08, SOPIN

static const uint8_t pin[] = {PIN};
static const uint8_t pin2[] = {PIN2};
static const uint8_t sopin[] = {SOPIN};
static const uint8_t other_root[32] = {0xA5, 0x5A, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                       0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14,
                                       0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E};

static uint16_t initialize(void)
{
    return TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, PIN, 0x82, 0x08, SOPIN,
              0x91, 0x01, 0x03);
}

static void remount(void)
{
    ram_port_power_on();
    CHECK_EQ_INT(hsm_store_mount(hsm_id_survives_init), HSM_OK);
    hsm_card_reset();
}

/* A fresh device with the OTP as given (blank by default), initialised, applet selected. */
static void fresh(void)
{
    ram_port_reset(NULL);
    remount();
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    CHECK_EQ_INT(initialize(), 0x9000);
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
}

static uint8_t flags(void)
{
    hsm_device d;
    CHECK_EQ_INT(hsm_device_load(&d), HSM_OK);
    return d.flags & (HSM_DEV_USER_OTP | HSM_DEV_SO_OTP);
}

/* Status answer: platform OTP state, binding bits. */
static void expect_status(uint8_t state, uint8_t bound)
{
    CHECK_EQ_INT(TX(OTP_STATUS), 0x9000);
    CHECK_EQ_INT(rlen, 4);
    CHECK_EQ_INT(resp[0], state);
    CHECK_EQ_INT(resp[1], bound);
}

/* Opens the wrap of role in the stored record with the KEK of the documented formula,
 * computed here (pin.h): PBKDF2-HMAC-SHA256(PIN, "pico-hsm/pin" | role | unique ID | device
 * salt), then, with a root, HKDF-SHA256(salt = root, IKM = that, info = "pico-hsm/pin/otp" |
 * role); AES-256-GCM with AAD "pico-hsm/mkek" | role | unique ID. True when it authenticates. */
static bool wrap_opens(uint8_t role, const uint8_t *p, size_t n, const uint8_t *root, uint8_t mkek[32])
{
    hsm_device d;
    if (hsm_device_load(&d) != HSM_OK) {
        return false;
    }
    uint8_t salt[53], pre[32], kek[32], aad[22], info[17];
    memcpy(salt, "pico-hsm/pin", 12);
    salt[12] = role;
    hsm_port_unique_id(salt + 13);
    memcpy(salt + 21, d.salt, 32);
    if (mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, p, n, salt, sizeof(salt), d.kdf_iterations, 32, pre) != 0) {
        return false;
    }
    memcpy(kek, pre, 32);
    if (root != NULL) {
        memcpy(info, "pico-hsm/pin/otp", 16);
        info[16] = role;
        if (mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), root, 32, pre, 32, info,
                         sizeof(info), kek, 32) != 0) {
            return false;
        }
    }
    memcpy(aad, "pico-hsm/mkek", 13);
    aad[13] = role;
    hsm_port_unique_id(aad + 14);
    const uint8_t *w = role == HSM_PIN_ROLE_SO ? d.so_wrap : d.user_wrap;
    mbedtls_gcm_context g;
    mbedtls_gcm_init(&g);
    int r = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, kek, 256);
    if (r == 0) {
        r = mbedtls_gcm_auth_decrypt(&g, 32, w, 12, aad, sizeof(aad), w + 44, 16, w + 12, mkek);
    }
    mbedtls_gcm_free(&g);
    return r == 0;
}

static void test_guards(void)
{
    ram_port_reset(NULL);
    remount();
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    expect_status(HSM_OTP_BLANK, 0x00); /* no PIN needed, before initialisation too */
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x01, 0x00), 0x6982);
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x6A88); /* not initialised: no SO-PIN to check */
    CHECK_EQ_INT(initialize(), 0x9000);
    /* Logged in as the user after INITIALIZE: still no SO-PIN. */
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81), 0x9000);
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x01, 0x00), 0x6982);
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x01, 0x07, 1, 2, 3, 4, 5, 6, 7), 0x6700);
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x00, 0x01, 0x00), 0x6700);
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x02, 0x00), 0x6A86);
    /* A wrong SO-PIN in the data costs a try and provisions nothing. */
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x01, 0x08, SOPIN2), 0x63CE);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x88), 0x63CE);
    CHECK_EQ_INT(ram_port_otp_provisions(), 0);
    expect_status(HSM_OTP_BLANK, 0x00);
    /* The legacy OTP sub-command stays unavailable (ext. spec 3.3). */
    CHECK_EQ_INT(TX(0x80, 0x64, 0x4C, 0x00, 0x02, 0x0F, 0x00), 0x6A86);

    /* No OTP on this chip (RP2040): 6A81, no SO-PIN try spent. */
    ram_port_otp_absent();
    expect_status(HSM_OTP_ABSENT, 0x00);
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x6A81);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x88), 0x63CE);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);

    /* A failed OTP write: 6581, the page is damaged for good, the PINs keep working unbound. */
    ram_port_otp_blank();
    ram_port_otp_fail_provision(true);
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x6581);
    expect_status(HSM_OTP_DAMAGED, 0x00);
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x6986);
    CHECK_EQ_INT(ram_port_otp_provisions(), 1);
    CHECK_EQ_INT(TX(VERIFY_SO), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(flags(), 0);
}

static void test_provision_and_rebind(void)
{
    uint8_t root[32], mkek[32], mkek2[32];
    fresh();
    CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), NULL, mkek));
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x9000);
    CHECK_EQ_INT(ram_port_otp_provisions(), 1);
    CHECK_EQ_INT(hsm_port_otp_root(root), HSM_OK);
    /* The SO-PIN's wrap is bound at once, the user PIN's not yet. */
    expect_status(HSM_OTP_READY, 0x02);
    CHECK_EQ_INT(flags(), HSM_DEV_SO_OTP);
    CHECK(wrap_opens(HSM_PIN_ROLE_SO, sopin, sizeof(sopin), root, mkek2));
    CHECK_MEM(mkek, mkek2, 32); /* the same MKEK */
    CHECK(!wrap_opens(HSM_PIN_ROLE_SO, sopin, sizeof(sopin), NULL, mkek2));
    CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), NULL, mkek2));
    /* Twice: refused, with or without data, before any SO-PIN try. */
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x6985);
    CHECK_EQ_INT(TX(VERIFY_SO), 0x9000);
    CHECK_EQ_INT(TX(0x80, 0x64, 0xF0, 0x01, 0x00), 0x6985);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x88), 0x9000);
    CHECK_EQ_INT(ram_port_otp_provisions(), 1);

    /* The user PIN: a wrong one fails and counts (nothing re-bound), the right one re-binds. */
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81, 0x06, WRONG), 0x63C2);
    CHECK_EQ_INT(flags(), HSM_DEV_SO_OTP);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(flags(), HSM_DEV_SO_OTP | HSM_DEV_USER_OTP);
    expect_status(HSM_OTP_READY, 0x03);
    CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), root, mkek2));
    CHECK_MEM(mkek, mkek2, 32);
    CHECK(!wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), NULL, mkek2));
    CHECK(!wrap_opens(HSM_PIN_ROLE_USER, pin2, sizeof(pin2), root, mkek2));
    /* Bound wraps: wrong PINs still fail and count, right ones verify, across a power cycle. */
    remount();
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81, 0x06, WRONG), 0x63C2);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81), 0x63C2);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x88, 0x08, SOPIN2), 0x63CE);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_SO), 0x9000);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81), 0x9000);
    /* A PIN set now (CHANGE REFERENCE DATA, RESET RETRY COUNTER) is bound at once, around the
     * same MKEK (so every key sealed before provisioning stays usable). */
    CHECK_EQ_INT(TX(0x00, 0x24, 0x00, 0x81, 0x0D, PIN, PIN2), 0x9000);
    CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin2, sizeof(pin2), root, mkek2));
    CHECK_MEM(mkek, mkek2, 32);
    CHECK_EQ_INT(TX(0x00, 0x2C, 0x00, 0x81, 0x0E, SOPIN, PIN), 0x9000);
    CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), root, mkek2));
    CHECK_EQ_INT(flags(), HSM_DEV_SO_OTP | HSM_DEV_USER_OTP);
    /* A re-initialisation after provisioning binds both new wraps at once. */
    CHECK_EQ_INT(initialize(), 0x9000);
    CHECK_EQ_INT(flags(), HSM_DEV_SO_OTP | HSM_DEV_USER_OTP);
    CHECK(wrap_opens(HSM_PIN_ROLE_SO, sopin, sizeof(sopin), root, mkek2));
}

/* The flash image of a provisioned device, moved to a chip whose root is absent, different or
 * unreadable (same unique ID: the worst case, an attacker who also knows it). */
static void test_dump_elsewhere(void)
{
    static uint8_t img[1024 * 1024];
    uint8_t root[32];
    fresh();
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(flags(), HSM_DEV_SO_OTP | HSM_DEV_USER_OTP);
    CHECK_EQ_INT(hsm_port_otp_root(root), HSM_OK);
    size_t n = ram_port_snapshot(img, sizeof(img));
    CHECK(n > 0);

    /* No root: fail closed (6400), no try spent, no provisioning possible. */
    ram_port_otp_blank();
    CHECK_EQ_INT(ram_port_restore(img, n), HSM_OK);
    remount();
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x6400);
    CHECK_EQ_INT(TX(VERIFY_SO), 0x6400);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81), 0x63C3);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x88), 0x63CF);
    CHECK_EQ_INT(TX(0x00, 0x24, 0x00, 0x81, 0x0C, PIN, PIN), 0x6400);
    CHECK_EQ_INT(TX(0x00, 0x2C, 0x01, 0x81, 0x08, SOPIN), 0x6400);
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x6400);
    CHECK_EQ_INT(ram_port_otp_provisions(), 0);
    expect_status(HSM_OTP_BLANK, 0x03);

    /* Another chip's root: the right PIN is just a wrong PIN there. */
    ram_port_otp_set_root(other_root);
    CHECK_EQ_INT(ram_port_restore(img, n), HSM_OK);
    remount();
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x63C2);
    CHECK_EQ_INT(TX(VERIFY_SO), 0x63CE);

    /* Its own root, but unreadable at this boot: fail closed. */
    ram_port_otp_set_root(root);
    ram_port_otp_unreadable(true);
    CHECK_EQ_INT(ram_port_restore(img, n), HSM_OK);
    remount();
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
    expect_status(HSM_OTP_PENDING, 0x03);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x6400);
    CHECK_EQ_INT(TX(0x00, 0x20, 0x00, 0x81), 0x63C3);

    /* Back on its own chip: everything works. */
    ram_port_otp_unreadable(false);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_SO), 0x9000);
}

/* Runs `cmd` with a power cut at its k-th flash operation for k = 1, 2, ... until it runs
 * through; after each cut, `check` is called on the remounted card. */
static void cut_everywhere(void (*setup)(void), const uint8_t *cmd, size_t len,
                           void (*check)(uint16_t sw, uint32_t k), uint32_t min_ops)
{
    for (uint32_t k = 1; k < 64; k++) {
        setup();
        uint32_t before = ram_port_flash_ops();
        ram_port_cut_after(k, 7000 + k);
        uint16_t sw = tx(cmd, len);
        bool cut = ram_port_flash_ops() - before >= k;
        ram_port_cut_after(0, 0);
        remount();
        CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
        check(sw, k);
        if (!cut) {
            CHECK(k > min_ops); /* every write of the command was cut once */
            return;
        }
    }
    CHECK(false);
}

static uint8_t cut_root[32];

static void setup_unbound_with_root(void)
{
    fresh();
    ram_port_otp_set_root(cut_root); /* provisioned, wraps still unbound */
}

static void check_user_rebind(uint16_t sw, uint32_t k)
{
    uint8_t f = flags(), mkek[32];
    /* Either the old wrap or the new one, and a right PIN verifies. */
    if (f & HSM_DEV_USER_OTP) {
        CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), cut_root, mkek));
    } else {
        CHECK(wrap_opens(HSM_PIN_ROLE_USER, pin, sizeof(pin), NULL, mkek));
    }
    if (sw != 0x9000 && sw != 0x6581) {
        fprintf(stderr, "cut %u: sw %04X\n", (unsigned)k, sw);
        CHECK(false);
    }
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(flags(), HSM_DEV_USER_OTP);
}

static void setup_blank(void)
{
    fresh();
}

static void check_provision_cut(uint16_t sw, uint32_t k)
{
    uint8_t root[32], mkek[32];
    bool provisioned = hsm_port_otp_root(root) == HSM_OK;
    /* Cut in the first SO-PIN check: no verdict and nothing provisioned. */
    if (sw == 0x6581) {
        CHECK(!provisioned);
    } else if (sw != 0x9000) {
        fprintf(stderr, "cut %u: sw %04X\n", (unsigned)k, sw);
        CHECK(false);
    }
    if (flags() & HSM_DEV_SO_OTP) {
        CHECK(provisioned && wrap_opens(HSM_PIN_ROLE_SO, sopin, sizeof(sopin), root, mkek));
    } else {
        CHECK(wrap_opens(HSM_PIN_ROLE_SO, sopin, sizeof(sopin), NULL, mkek));
    }
    CHECK_EQ_INT(TX(VERIFY_SO), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(flags(), provisioned ? (HSM_DEV_SO_OTP | HSM_DEV_USER_OTP) : 0);
}

/* The counter before the compare, with a bound wrap: a verdict only after the decrement. */
static void setup_bound(void)
{
    fresh();
    CHECK_EQ_INT(TX(OTP_PROVISION), 0x9000);
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
    CHECK_EQ_INT(TX(SELECT_APP), 0x9000);
}

static void check_counter(uint16_t sw, uint32_t k)
{
    hsm_device d;
    CHECK_EQ_INT(hsm_device_load(&d), HSM_OK);
    if (sw == 0x63C2) {
        CHECK_EQ_INT(d.user_left, 2);
    } else {
        CHECK_EQ_INT(sw, 0x6581);
        if (sw != 0x6581) {
            fprintf(stderr, "cut %u: sw %04X\n", (unsigned)k, sw);
        }
    }
    CHECK_EQ_INT(TX(VERIFY_USER), 0x9000);
}

static void test_power_cuts(void)
{
    for (unsigned i = 0; i < 32; i++) {
        cut_root[i] = (uint8_t)(0xC0 + i);
    }
    static const uint8_t verify[] = {VERIFY_USER};
    cut_everywhere(setup_unbound_with_root, verify, sizeof(verify), check_user_rebind, 2);
    static const uint8_t provision[] = {OTP_PROVISION};
    cut_everywhere(setup_blank, provision, sizeof(provision), check_provision_cut, 4);
    static const uint8_t wrong[] = {0x00, 0x20, 0x00, 0x81, 0x06, WRONG};
    cut_everywhere(setup_bound, wrong, sizeof(wrong), check_counter, 1);
}

int main(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    test_guards();
    test_provision_and_rebind();
    test_dump_elsewhere();
    test_power_cuts();
    return CHECK_DONE();
}
