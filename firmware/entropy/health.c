/*
 * health.c — SP 800-90B repetition count and adaptive proportion tests. See health.h.
 */
#include "health.h"

#include "hsm/err.h"

#ifndef HSM_HEALTH_ASSERT
#define HSM_HEALTH_ASSERT(cond)    \
    do {                           \
        if (!(cond))               \
            __builtin_trap();      \
    } while (0)
#endif

void hsm_health_init(hsm_health *h, uint32_t rct_cutoff, uint32_t apt_window,
                     uint32_t apt_cutoff) {
    HSM_HEALTH_ASSERT(rct_cutoff >= 2 && apt_window >= 2 && apt_cutoff >= 2 &&
                      apt_cutoff <= apt_window);
    h->rct_cutoff = rct_cutoff;
    h->apt_window = apt_window;
    h->apt_cutoff = apt_cutoff;
    h->rct_count = 0;
    h->apt_count = 0;
    h->apt_seen = 0;
    h->samples = 0;
    h->rct_value = 0;
    h->apt_value = 0;
    h->failed = false;
}

int hsm_health_feed(hsm_health *h, uint8_t sample) {
    if (h->failed)
        return HSM_ERR_ENTROPY;

    /* 4.4.1 repetition count */
    if (h->samples != 0 && sample == h->rct_value) {
        if (++h->rct_count >= h->rct_cutoff)
            h->failed = true;
    } else {
        h->rct_value = sample;
        h->rct_count = 1;
    }

    /* 4.4.2 adaptive proportion */
    if (h->apt_seen == 0) {
        h->apt_value = sample;
        h->apt_count = 1;
        h->apt_seen = 1;
    } else {
        if (sample == h->apt_value && ++h->apt_count >= h->apt_cutoff)
            h->failed = true;
        if (++h->apt_seen == h->apt_window)
            h->apt_seen = 0;
    }

    h->samples++;
    return h->failed ? HSM_ERR_ENTROPY : HSM_OK;
}

bool hsm_health_startup_done(const hsm_health *h) {
    return !h->failed && h->samples >= h->apt_window;
}
