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
    static bool ready;
    if (!ready) {
        ram_port_reset(NULL);
        if (hsm_card_init() != 0) {
            abort();
        }
        ready = true;
    }
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
    /* Each frame is copied into its own heap block so ASan catches any read past its end. */
    while (size >= 2) {
        size_t n = ((size_t)data[0] << 8) | data[1];
        data += 2, size -= 2;
        if (n > size) {
            n = size;
        }
        uint8_t *frame = malloc(n ? n : 1);
        if (frame == NULL) {
            return 0;
        }
        memcpy(frame, data, n);
        run(frame, n);
        free(frame);
        data += n, size -= n;
    }
    return 0;
}
