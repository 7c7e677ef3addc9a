/*
 * fuzz_tlv.c — libFuzzer target over the BER-TLV reader: walks the input recursively into
 * constructed values and checks every value lies inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hsm/tlv.h"

static void walk(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi, int depth)
{
    hsm_tlv_reader r;
    hsm_tlv t;
    hsm_tlv_reader_init(&r, p, n);
    while (hsm_tlv_next(&r, &t) == 1) {
        if (t.value < lo || t.value + t.len > hi) {
            abort();
        }
        if (t.constructed && depth < 16) {
            walk(t.value, t.len, lo, hi, depth + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size, data, data + size, 0);
    hsm_tlv t;
    (void)hsm_tlv_find(data, size, 0x7F49, &t);
    return 0;
}
