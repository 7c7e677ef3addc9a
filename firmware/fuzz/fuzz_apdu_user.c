/*
 * fuzz_apdu_user.c — libFuzzer target over the APDU entry point with the card initialised and
 * the user PIN verified: the state where the key, file, DKEK and extension commands do their
 * real work, which the stateless APDU target rarely reaches.
 *
 * The card is prepared once (INITIALIZE with one DKEK share and four key domains, the share
 * imported, an EC P-256 key 1, an RSA-1024 key 2, an AES-256 key 3, a private data object
 * CD01) and its flash kept. Every input starts from that flash after a simulated power cycle
 * (hsm_card_power_off + hsm_card_init), selects the application and verifies the PIN, then
 * plays its frames (2-byte big-endian length, then the APDU) like fuzz_apdu. Every answer
 * must hold at least the status word and fit the response buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/apdu.h"
#include "hsm/card.h"
#include "fuzz_card.h"
#include "ram_port.h"
#include "vpcd.h"

#define FLASH_MAX (1024u * 1024u)

static uint8_t resp[HSM_VPCD_FRAME_MAX];
static uint8_t snapshot[FLASH_MAX];
static size_t snapshot_len;

static uint16_t run(const uint8_t *cmd, size_t n)
{
    size_t r = hsm_vpcd_handle(cmd, n, resp, sizeof(resp));
    if (n != 1 && (r < 2 || r > sizeof(resp))) {
        abort();
    }
    return r >= 2 ? (uint16_t)(resp[r - 2] << 8 | resp[r - 1]) : 0;
}

static void play(const uint8_t *cmd, size_t n)
{
    (void)run(cmd, n);
}

#define RUN_OK(...)                                                                          \
    do {                                                                                     \
        static const uint8_t a_[] = {__VA_ARGS__};                                           \
        uint16_t sw_ = run(a_, sizeof(a_));                                                  \
        if (sw_ != 0x9000) {                                                                 \
            abort(); /* the preparation must succeed, or the target fuzzes the wrong state */ \
        }                                                                                    \
    } while (0)

#define SELECT_APP 0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00
#define VERIFY_PIN 0x00, 0x20, 0x00, 0x81, 0x06, '6', '4', '8', '2', '1', '9'

/* GENERATE ASYMMETRIC KEY PAIR templates (core spec 2.11.1). */
#define OID_ECDSA 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03
/* The P-256 prime with its last byte replaced: 0xFF gives p, 0xFC gives a = p - 3. */
#define P256_P(last)                                                                                  \
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   \
        0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, (last)
#define OID_RSA 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02

static void prepare(void)
{
    ram_port_reset(NULL);
    if (hsm_card_init() != 0) {
        abort();
    }
    RUN_OK(SELECT_APP);
    /* INITIALIZE: options 0001, PIN 648219, SO-PIN 3537363231383830, 3 retries, 1 DKEK share, 4 domains. */
    RUN_OK(0x80, 0x50, 0x00, 0x00, 0x1F, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, '6', '4', '8', '2', '1', '9', 0x82,
           0x08, 0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30, 0x91, 0x01, 0x03, 0x92, 0x01, 0x01, 0x97, 0x01,
           0x04);
    RUN_OK(SELECT_APP);
    RUN_OK(VERIFY_PIN);
    /* CREATE domain 0 with one share, then import it (ext. spec 4.2). */
    RUN_OK(0x80, 0x52, 0x01, 0x00, 0x01, 0x01);
    RUN_OK(0x80, 0x52, 0x00, 0x00, 0x20, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB,
           0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
           0x0D, 0x0E, 0x0F, 0x10);
    /* EC P-256 key 1, named by its p and a (core spec 2.11.1). */
    RUN_OK(0x00, 0x46, 0x01, 0x00, 0x00, 0x00, 0x57, 0x5F, 0x29, 0x01, 0x00, 0x7F, 0x49, 0x50, OID_ECDSA, 0x81,
           0x20, P256_P(0xFF), 0x82, 0x20, P256_P(0xFC), 0x00, 0x00);
    /* RSA-1024 key 2, e = 65537. */
    RUN_OK(0x00, 0x46, 0x02, 0x00, 0x00, 0x00, 0x1C, 0x5F, 0x29, 0x01, 0x00, 0x7F, 0x49, 0x15, OID_RSA, 0x82,
           0x03, 0x01, 0x00, 0x01, 0x02, 0x02, 0x04, 0x00, 0x00, 0x00);
    /* AES-256 key 3 (ext. spec 1.2: P2 = key size code). */
    RUN_OK(0x80, 0x48, 0x03, 0xB2, 0x00);
    /* Private data object CD01 (2.3). */
    RUN_OK(0x00, 0xD7, 0xCD, 0x01, 0x09, 0x54, 0x02, 0x00, 0x00, 0x53, 0x03, 0x61, 0x62, 0x63);
    snapshot_len = ram_port_snapshot(snapshot, sizeof(snapshot));
    if (snapshot_len == 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        prepare();
        ready = true;
    }
    if (ram_port_restore(snapshot, snapshot_len) != 0) {
        abort();
    }
    hsm_card_power_off();
    if (hsm_card_init() != 0) {
        abort();
    }
    RUN_OK(SELECT_APP);
    RUN_OK(VERIFY_PIN);
    fuzz_play_frames(data, size, play);
    return 0;
}
