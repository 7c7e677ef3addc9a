/*
 * fuzz_apdu.c — libFuzzer target over the card's APDU entry point.
 *
 * Input: a sequence of frames, each a 2-byte big-endian length then that many bytes, played
 * against one card as vpcd would deliver them (1-byte frames are control codes). The card is
 * first brought into a state chosen by the first input byte (0: fresh; 1: application
 * selected; 2: an EF selected), so each life-cycle state gets explored. Every answer must be
 * at least the two status bytes and fit the response buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/apdu.h"
#include "hsm/card.h"
#include "fuzz_card.h"
#include "ram_port.h"
#include "vpcd.h"

static uint8_t resp[HSM_VPCD_FRAME_MAX];

static void run(const uint8_t *cmd, size_t n)
{
    size_t r = hsm_vpcd_handle(cmd, n, resp, sizeof(resp));
    if (n != 1 && (r < 2 || r > sizeof(resp))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_card_once();
    hsm_card_reset();
    if (size == 0) {
        return 0;
    }
    static const uint8_t select_app[] = {0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01,
                                         0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00};
    static const uint8_t select_ef[] = {0x00, 0xA4, 0x00, 0x00, 0x02, 0x2F, 0x02, 0x00};
    uint8_t state = data[0] % 3;
    if (state >= 1) {
        run(select_app, sizeof(select_app));
    }
    if (state >= 2) {
        run(select_ef, sizeof(select_ef));
    }
    data++, size--;
    fuzz_play_frames(data, size, run);
    return 0;
}
