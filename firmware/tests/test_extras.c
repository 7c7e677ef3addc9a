/*
 * test_extras.c — EXTRAS (80 64), device options, press-to-confirm, the clock and the rescue
 * applet through the card's APDU entry point (pico-hsm-extensions.md 3.1-3.5, 3.9). The user's
 * button is the RAM platform's scripted answer (ram_port_set_presence): the core asks the
 * platform, never a test hook. Calendar values were computed independently (Python's
 * calendar.timegm and datetime.weekday).
 */
#include "keys_common.h"

#include "extras.h"

#define RESCUE_SELECT 0x00, 0xA4, 0x04, 0x04, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21, 0x00

static uint16_t options_read(void)
{
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 2);
    return (uint16_t)((kt_resp[0] << 8) | kt_resp[1]);
}

static void test_options(void)
{
    CHECK_EQ_INT(options_read(), 0x0001); /* INITIALIZE wrote 0001 */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x02), 0x9000);
    CHECK_EQ_INT(options_read(), 0x0201);
    /* The secure-lock bit is never set (or cleared) by a raw write (spec 9 #8). */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x06), 0x9000);
    CHECK_EQ_INT(options_read(), 0x0201);
    /* Persisted: a power cycle keeps it; SELECT FCI tag 85 reports it. */
    kt_remount();
    kt_login();
    CHECK_EQ_INT(options_read(), 0x0201);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    hsm_tlv t;
    CHECK_EQ_INT(hsm_tlv_find(kt_resp, kt_data_len(), 0x62, &t), 1);
    hsm_tlv o;
    CHECK_EQ_INT(hsm_tlv_find(t.value, t.len, 0x85, &o), 1);
    CHECK(o.len >= 2 && o.value[0] == 0x02 && o.value[1] == 0x01);
    kt_login();
    /* errors */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x01, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x02, 0x01, 0x00), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x4C, 0x00, 0x02, 0x00, 0xC0), 0x6A86); /* OTP: never */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x3A, 0x01, 0x00), 0x6700); /* secure lock agreement without a point (3.8) */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x77, 0x00, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x00), 0x9000);
    /* Without a PIN: 6982, except PHY and memory (3.1). */
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x0A, 0x00, 0x00), 0x6982);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x05, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 20);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x00, 0x00), 0x9000);
    kt_login();
}

static void test_memory_and_phy(void)
{
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x05, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 20);
    uint32_t w[5];
    for (int i = 0; i < 5; i++) {
        w[i] = ((uint32_t)kt_resp[4 * i] << 24) | ((uint32_t)kt_resp[4 * i + 1] << 16) |
               ((uint32_t)kt_resp[4 * i + 2] << 8) | kt_resp[4 * i + 3];
    }
    hsm_store_stats st;
    hsm_store_get_stats(&st);
    CHECK_EQ_INT(w[0] + w[1], w[2]);
    CHECK_EQ_INT(w[2], st.capacity);
    CHECK_EQ_INT(w[3], st.live_objects);
    CHECK_EQ_INT(w[4], hsm_port_flash_size());
    CHECK(w[1] > 0 && w[3] >= 1);

    /* PHY fields (legacy 1B): VID:PID, LED GPIO, brightness, options; read back as TLV. */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x00, 0x04, 0x2E, 0x8A, 0x10, 0xFD), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x04, 0x01, 0x19), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78), 0x9000); /* replaces */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x00, 0x00), 0x9000);
    const uint8_t want[] = {0x04, 0x01, 0x19, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78};
    CHECK_EQ_INT(kt_data_len(), sizeof(want));
    CHECK_MEM(kt_resp, want, sizeof(want));
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x00, 0x03, 0x12, 0x34, 0x56), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x06, 0x01, 0x00), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x05, 0x02, 0x00, 0x01), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x07, 0x01, 0x00), 0x6A86);
    /* PHY survives INITIALIZE (a device-lifetime object). */
    CHECK_EQ_INT(KT_TX(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, KT_PIN,
                       0x82, 0x08, KT_SOPIN, 0x91, 0x01, 0x03),
                 0x9000);
    kt_login();
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x1B, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), sizeof(want));
}

static void test_clock_math(void)
{
    /* 2024-02-29 12:34:56 UTC = 1709210096, a Thursday (tm_wday 4); month byte 0-based. */
    uint8_t tm[8];
    hsm_clock_to_tm(1709210096, tm);
    const uint8_t want[8] = {0x07, 0xE8, 1, 29, 4, 12, 34, 56};
    CHECK_MEM(tm, want, 8);
    CHECK_EQ_INT(hsm_clock_from_tm(want), 1709210096);
    const uint8_t y2k[8] = {0x07, 0xCF, 11, 31, 0, 23, 59, 59}; /* 1999-12-31 23:59:59 */
    CHECK_EQ_INT(hsm_clock_from_tm(y2k), 946684799);
    /* mktime normalisation: month 12 of 2024 is January 2025 (the Pico tool sends 1..12). */
    const uint8_t m12[8] = {0x07, 0xE8, 12, 1, 0, 0, 0, 0};
    CHECK_EQ_INT(hsm_clock_from_tm(m12), 1735689600);
}

static void test_clock(void)
{
    /* Legacy EXTRAS 0A: set, then read back the same broken-down time (weekday recomputed). */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x0A, 0x00, 0x08, 0x07, 0xE8, 1, 29, 0, 12, 34, 56), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x0A, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 8);
    CHECK(kt_resp[0] == 0x07 && kt_resp[1] == 0xE8 && kt_resp[2] == 1 && kt_resp[3] == 29);
    CHECK_EQ_INT(kt_resp[4], 4);
    CHECK(kt_resp[5] == 12 && kt_resp[6] == 34 && kt_resp[7] >= 56 && kt_resp[7] <= 57);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x0A, 0x00, 0x07, 0x07, 0xE8, 1, 29, 0, 12, 34), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x0A, 0x01, 0x00), 0x6A86);
}

static uint16_t rescue_phy(const uint8_t *rec, size_t n)
{
    CHECK_EQ_INT(KT_TX(RESCUE_SELECT), 0x9000);
    uint16_t sw = kt_ext(0x80, 0x1C, 0x01, 0x00, rec, n, 0);
    kt_login();
    return sw;
}

static void test_presence(void)
{
    const uint8_t path[] = {0x02, 0x01, 0x00};
    uint8_t h[32] = {7};
    CHECK_EQ_INT(kt_ext(0x80, 0x4A, 0x01, 0x00, (const uint8_t *)"0123456789abcdef", 16, 0), 0x9000);
    /* Option off: no wait. */
    ram_port_set_presence(0);
    CHECK_EQ_INT(kt_ext(0x80, 0x4A, 0x10, 0x00, path, sizeof(path), 0), 0x9000);
    CHECK_EQ_INT(kt_sign(0, 0xA0, h, 32), 0x9000);
    CHECK_EQ_INT(ram_port_presence_calls(), 0);
    /* Option on (0100): SIGN waits 15 s for the user; not confirmed -> 6600 before the handler
     * runs, so the HD node is still there for the confirmed retry. */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x01), 0x9000);
    CHECK_EQ_INT(kt_ext(0x80, 0x4A, 0x10, 0x00, path, sizeof(path), 0), 0x9000);
    CHECK_EQ_INT(kt_sign(0, 0xA0, h, 32), 0x6600);
    CHECK_EQ_INT(ram_port_presence_calls(), 1);
    CHECK_EQ_INT(ram_port_presence_timeout(), 15000);
    CHECK_EQ_INT(kt_data_len(), 0);
    ram_port_set_presence(1);
    CHECK_EQ_INT(kt_sign(0, 0xA0, h, 32), 0x9000);
    CHECK_EQ_INT(ram_port_presence_calls(), 1);
    CHECK(kt_data_len() > 8);
    /* DECIPHER and WRAP wait too; EXTRAS waits after its PIN check. */
    ram_port_set_presence(0);
    CHECK_EQ_INT(kt_decipher(1, 0x21, h, 32), 0x6600);
    CHECK_EQ_INT(KT_TX(0x80, 0x72, 0x01, 0x92, 0x00), 0x6600);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x6600);
    CHECK_EQ_INT(ram_port_presence_calls(), 3);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x6982); /* PIN first: no wait */
    CHECK_EQ_INT(ram_port_presence_calls(), 3);
    kt_login();
    /* PHY field 08 sets the window; 0 means no wait (3.5). */
    ram_port_set_presence(1);
    const uint8_t phy3[] = {0x08, 0x01, 0x03};
    CHECK_EQ_INT(rescue_phy(phy3, sizeof(phy3)), 0x9000);
    ram_port_set_presence(0);
    CHECK_EQ_INT(kt_ext(0x80, 0x4A, 0x10, 0x00, path, sizeof(path), 0), 0x9000);
    CHECK_EQ_INT(kt_sign(0, 0xA0, h, 32), 0x6600);
    CHECK_EQ_INT(ram_port_presence_timeout(), 3000);
    ram_port_set_presence(1);
    const uint8_t phy0[] = {0x08, 0x01, 0x00};
    CHECK_EQ_INT(rescue_phy(phy0, sizeof(phy0)), 0x9000);
    ram_port_set_presence(0);
    CHECK_EQ_INT(kt_ext(0x80, 0x4A, 0x10, 0x00, path, sizeof(path), 0), 0x9000);
    CHECK_EQ_INT(kt_sign(0, 0xA0, h, 32), 0x9000);
    CHECK_EQ_INT(ram_port_presence_calls(), 0);
    /* Off again. */
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x00), 0x9000);
    CHECK_EQ_INT(options_read() & HSM_OPT_BUTTON, 0);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void test_rescue(void)
{
    static const uint8_t uid[8] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};
    CHECK_EQ_INT(KT_TX(RESCUE_SELECT), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 12);
    CHECK(kt_resp[0] == 0x03 && kt_resp[1] == 0x01 && kt_resp[2] == 6 && kt_resp[3] == 6);
    CHECK_MEM(kt_resp + 4, uid, 8);
    CHECK_EQ_INT(KT_TX(0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 0); /* no Le, no data */
    /* CLA, INS */
    CHECK_EQ_INT(KT_TX(0x00, 0x1E, 0x01, 0x00, 0x00), 0x6E00);
    CHECK_EQ_INT(KT_TX(0x80, 0xCA, 0x00, 0x00, 0x00), 0x6D00);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x6D00); /* HSM commands are not here */
    CHECK_EQ_INT(KT_TX(0x80, 0x10, 0x02, 0x00, 0x00), 0x6A81);
    CHECK_EQ_INT(KT_TX(0x80, 0x1D, 0x00, 0x01, 0x00), 0x6A81);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x02, 0x02, 0x04, 0x65, 0xE0, 0x7A, 0xF0), 0x9000); /* 1709210352 */
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x04, 0x02, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 4);
    CHECK(be32(kt_resp) - 1709210352u <= 1);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x04, 0x01, 0x00), 0x9000);
    CHECK(kt_data_len() == 8 && kt_resp[0] == 0x07 && kt_resp[1] == 0xE8 && kt_resp[2] == 1 &&
          kt_resp[3] == 29 && kt_resp[4] == 4 && kt_resp[5] == 12 && kt_resp[6] == 39);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x02, 0x01, 0x08, 0x07, 0xCF, 11, 31, 5, 23, 59, 59), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x04, 0x02, 0x00), 0x9000);
    CHECK(be32(kt_resp) - 946684799u <= 1);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x02, 0x02, 0x03, 0x65, 0xE0, 0x7A), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x02, 0x01, 0x04, 0x65, 0xE0, 0x7A, 0x00), 0x6700);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x02, 0x03, 0x04, 0x65, 0xE0, 0x7A, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x05, 0x00, 0x02, 0x00, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x04, 0x03, 0x00), 0x6A86);
    /* reads */
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x02, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), 24);
    CHECK_EQ_INT(be32(kt_resp) + be32(kt_resp + 4), be32(kt_resp + 8));
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x03, 0x00, 0x00), 0x9000);
    CHECK(kt_data_len() == 3 && kt_resp[0] == 0 && kt_resp[1] == 0 && kt_resp[2] == 0xFF);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x05, 0x00, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x01, 0x00, 0x01, 0x00, 0x00), 0x6700);
    /* PHY record: presence required (30 s unless PHY 08 says otherwise), >= 2 bytes, and what
     * the boot reader accepts (hsm_phy_validate: a torn entry is 6A80) */
    const uint8_t rec[] = {0x00, 0x04, 0x2E, 0x8A, 0x10, 0xFD, 0x06, 0x02, 0x00, 0x08};
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x01, 0x00, 0x01, 0x00), 0x6700);
    ram_port_set_presence(1);
    CHECK_EQ_INT(KT_TX(0x80, 0x1C, 0x01, 0x00, 0x03, 0x04, 0x05, 0x00), 0x6A80);
    ram_port_set_presence(0);
    CHECK_EQ_INT(kt_ext(0x80, 0x1C, 0x01, 0x00, rec, sizeof(rec), 0), 0x6985);
    CHECK_EQ_INT(ram_port_presence_timeout(), 30000);
    ram_port_set_presence(1);
    CHECK_EQ_INT(kt_ext(0x80, 0x1C, 0x01, 0x00, rec, sizeof(rec), 0), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x01, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(kt_data_len(), sizeof(rec));
    CHECK_MEM(kt_resp, rec, sizeof(rec));
    /* reboots */
    uint32_t r0 = ram_port_reboots();
    CHECK_EQ_INT(KT_TX(0x80, 0x1F, 0x02, 0x00, 0x00), 0x6A86);
    CHECK_EQ_INT(KT_TX(0x80, 0x1F, 0x00, 0x00, 0x01, 0x00), 0x6700);
    ram_port_set_presence(0);
    CHECK_EQ_INT(KT_TX(0x80, 0x1F, 0x01, 0x00, 0x00), 0x6985);
    CHECK_EQ_INT(ram_port_reboots(), r0);
    CHECK_EQ_INT(KT_TX(0x80, 0x1F, 0x00, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(ram_port_reboots(), r0 + 1);
    /* After the reboot nothing is selected: rescue commands are unknown, HSM ones too. */
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x01, 0x00, 0x00), 0x6D00);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x6D00);
    /* Selecting the rescue applet ends the HSM session (its PIN state is lost). */
    kt_login();
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x9000);
    CHECK_EQ_INT(KT_TX(RESCUE_SELECT), 0x9000);
    CHECK_EQ_INT(KT_TX(KT_SELECT_APP), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x00), 0x6982);
    /* Unknown AIDs change nothing. */
    CHECK_EQ_INT(KT_TX(RESCUE_SELECT), 0x9000);
    CHECK_EQ_INT(KT_TX(0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x22, 0x00), 0x6A82);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x03, 0x00, 0x00), 0x9000);
}

/* Option 0200: keys generated without a counter of their own get FFFFFFFE (ext. spec 4.5);
 * an explicit tag 90 still wins; with the option off they stay unlimited. */
static void test_counter_option(void)
{
    static const kt_type p256 = {"secp256r1", KT_EC, 0, MBEDTLS_ECP_DP_SECP256R1};
    const uint8_t counter5[] = {0x90, 0x01, 0x05};
    const kt_opts with5 = {.extra = counter5, .extra_len = sizeof(counter5)};
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x02), 0x9000);
    CHECK_EQ_INT(kt_generate(0x21, &p256, NULL), 0x9000);
    CHECK_EQ_INT(kt_generate(0x22, &p256, &with5), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x64, 0x06, 0x00, 0x01, 0x00), 0x9000);
    CHECK_EQ_INT(kt_generate(0x23, &p256, NULL), 0x9000);
    CHECK_EQ_INT(kt_record_counter(0x21), 0xFFFFFFFEu);
    CHECK_EQ_INT(kt_record_counter(0x22), 5);
    CHECK_EQ_INT(kt_record_counter(0x23), 0xFFFFFFFFu);
    kt_login();
}

/* No wall clock on this platform and not set since boot: the rescue read answers 6985 (3.4). */
static void test_clock_unset(void)
{
    CHECK_EQ_INT(KT_TX(RESCUE_SELECT), 0x9000);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x04, 0x01, 0x00), 0x6985);
    CHECK_EQ_INT(KT_TX(0x80, 0x1E, 0x04, 0x02, 0x00), 0x6985);
    kt_login();
}

int main(void)
{
    kt_power_up();
    test_clock_unset();
    test_options();
    test_memory_and_phy();
    test_clock_math();
    test_clock();
    test_presence();
    test_counter_option();
    test_rescue();
    return CHECK_DONE();
}
