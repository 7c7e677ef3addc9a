/*
 * health.h — SP 800-90B section 4.4 continuous health tests on a noise source's raw samples.
 * Portable; the device entropy ports (RP2040 ROSC bit, RP2350 TRNG) feed every raw sample here
 * before it is debiased or conditioned.
 *
 * Repetition count test (4.4.1): fails when one value repeats rct_cutoff times in a row.
 * Adaptive proportion test (4.4.2): in each window of apt_window samples, fails when the
 * window's first value occurs apt_cutoff times (the first occurrence included).
 *
 * Cutoffs for binary samples with a claimed min-entropy H bits per sample and a false-positive
 * probability alpha (90B: RCT C = 1 + ceil(-log2(alpha) / H); APT C = 1 + CRITBINOM(W, 2^-H,
 * 1 - alpha), W = 1024 for binary sources). The values below are checked against that formula
 * by tests/test_health.c:
 *   H = 0.5, alpha = 2^-30:  RCT 61, APT 810   <- HSM_HEALTH_BINARY_* (both devices)
 *   H = 0.5, alpha = 2^-20:  RCT 41, APT 793
 *   H = 1.0, alpha = 2^-20:  RCT 21, APT 589
 * H = 0.5 is a conservative claim for a ring-oscillator bit sampled well apart in time; it is
 * an assumption to confirm on hardware with the NIST SP 800-90B estimator on raw samples.
 * alpha = 2^-30 keeps false alarms below one per 10^9 samples (a seed uses ~10^4).
 *
 * A failure is sticky for the life of the context: the entropy port starts a fresh context
 * (and its start-up test) for every request, so a failed request is an error returned to the
 * caller, never a silent retry.
 */
#ifndef HSM_ENTROPY_HEALTH_H
#define HSM_ENTROPY_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#define HSM_HEALTH_BINARY_RCT_CUTOFF 61u
#define HSM_HEALTH_BINARY_APT_WINDOW 1024u
#define HSM_HEALTH_BINARY_APT_CUTOFF 810u

typedef struct {
    uint32_t rct_cutoff, apt_window, apt_cutoff; /* parameters */
    uint32_t rct_count;  /* length of the current run, 1.. */
    uint32_t apt_count;  /* occurrences of apt_value in the current window */
    uint32_t apt_seen;   /* samples seen in the current window, 0 = window not started */
    uint64_t samples;    /* samples fed so far */
    uint8_t rct_value, apt_value;
    bool failed;
} hsm_health;

/* rct_cutoff >= 2, apt_window >= 2, 2 <= apt_cutoff <= apt_window. */
void hsm_health_init(hsm_health *h, uint32_t rct_cutoff, uint32_t apt_window,
                     uint32_t apt_cutoff);

/* Feeds one raw sample. Returns HSM_OK, or HSM_ERR_ENTROPY once any test has failed. */
int hsm_health_feed(hsm_health *h, uint8_t sample);

/* Whether the start-up test is complete: one full APT window (90B 4.3 item 4) passed. */
bool hsm_health_startup_done(const hsm_health *h);

#endif
