/*
 * fuzz_card.h — what the card-level fuzz targets share (header-only: each target is one
 * executable): bringing the card up once on the RAM flash, and playing an input as a list of
 * frames, each a 2-byte big-endian length and that many bytes (a length past the end takes
 * what is left). Each frame is copied into its own heap block so ASan catches any read past
 * its end.
 */
#ifndef HSM_FUZZ_CARD_H
#define HSM_FUZZ_CARD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/card.h"
#include "ram_port.h"

/* Erases the RAM flash and initialises the card, the first time only. */
static inline void fuzz_card_once(void)
{
    static bool ready;
    if (!ready) {
        ram_port_reset(NULL);
        if (hsm_card_init() != 0) {
            abort();
        }
        ready = true;
    }
}

/* Calls run(frame, n) for every frame of data. */
static inline void fuzz_play_frames(const uint8_t *data, size_t size, void (*run)(const uint8_t *, size_t))
{
    while (size >= 2) {
        size_t n = ((size_t)data[0] << 8) | data[1];
        data += 2, size -= 2;
        if (n > size) {
            n = size;
        }
        uint8_t *frame = malloc(n ? n : 1);
        if (frame == NULL) {
            return;
        }
        memcpy(frame, data, n);
        run(frame, n);
        free(frame);
        data += n, size -= n;
    }
}

#endif
