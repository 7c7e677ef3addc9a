/*
 * noise_trng.c — RP2350 noise source for entropy.c: the TRNG's ring-oscillator samples, raw.
 *
 * The TRNG's own von Neumann corrector, CRNGT and autocorrelation checks are bypassed, so the
 * 192-bit EHR holds raw samples and entropy.c applies one pipeline to both chips (SP 800-90B
 * health tests on raw bits, von Neumann, SHA-256). Samples are TRNG_SAMPLE_CYCLES rng_clk
 * cycles apart (the TRNG requires >= 17 with the corrector bypassed): wider spacing lets jitter
 * accumulate between samples, at ~0.3 ms per 192 bits at 150 MHz.
 * Bits are taken from ehr_data[0] bit 0 upwards; a new EHR is read once all 192 are used.
 */
#include "hardware/regs/trng.h"
#include "hardware/resets.h"
#include "hardware/structs/trng.h"
#include "pico/time.h"

#include "hsm/err.h"
#include "rp2.h"

#define TRNG_SAMPLE_CYCLES 256u
#define TRNG_ROSC_CHAIN 0u      /* TRNG_CONFIG.RND_SRC_SEL: shortest inverter chain */
#define TRNG_TIMEOUT_US 20000u  /* one EHR takes ~330 us */
#define EHR_WORDS 6u

static uint32_t ehr[EHR_WORDS]; /* raw samples not yet handed out; owner: core 1 */
static uint32_t bits_left;

int rp2_noise_start(void) {
    unreset_block_num_wait_blocking(RESET_TRNG);
    trng_hw->rnd_source_enable = 0;
    trng_hw->trng_debug_control = TRNG_TRNG_DEBUG_CONTROL_VNC_BYPASS_BITS |
                                  TRNG_TRNG_DEBUG_CONTROL_TRNG_CRNGT_BYPASS_BITS |
                                  TRNG_TRNG_DEBUG_CONTROL_AUTO_CORRELATE_BYPASS_BITS;
    trng_hw->sample_cnt1 = TRNG_SAMPLE_CYCLES;
    trng_hw->trng_config = TRNG_ROSC_CHAIN;
    trng_hw->rng_icr = 0xFFFFFFFFu;
    trng_hw->rnd_source_enable = TRNG_RND_SOURCE_ENABLE_RND_SRC_EN_BITS;
    bits_left = 0;
    return HSM_OK;
}

int rp2_noise_bit(void) {
    if (bits_left == 0) {
        uint32_t t0 = time_us_32();
        while (!(trng_hw->trng_valid & TRNG_TRNG_VALID_EHR_VALID_BITS)) {
            if (time_us_32() - t0 > TRNG_TIMEOUT_US)
                return HSM_ERR_ENTROPY;
        }
        for (uint32_t i = 0; i < EHR_WORDS; i++)
            ehr[i] = trng_hw->ehr_data[i]; /* reading the last word restarts sampling */
        trng_hw->rng_icr = TRNG_RNG_ISR_EHR_VALID_BITS;
        bits_left = EHR_WORDS * 32u;
    }
    uint32_t i = EHR_WORDS * 32u - bits_left--;
    return (int)((ehr[i / 32u] >> (i % 32u)) & 1u);
}
