/*
 * noise_rosc.c — RP2040 noise source for entropy.c: the ring oscillator's RANDOMBIT register.
 *
 * RANDOMBIT reads the ROSC output at the moment of the read. Reads are spaced
 * ROSC_SAMPLE_US apart so that the oscillator's jitter accumulates between samples (reads in a
 * tight loop are strongly correlated). The ROSC must be running and must not clock the
 * processors (then the samples would be synchronous to the reader); clk_sys runs from the PLL
 * in this firmware, and rp2_noise_start() checks both.
 */
#include "hardware/regs/clocks.h"
#include "hardware/structs/clocks.h"
#include "hardware/structs/rosc.h"
#include "pico/time.h"

#include "hsm/err.h"
#include "rp2.h"

#define ROSC_SAMPLE_US 10u

int rp2_noise_start(void) {
    if (!(rosc_hw->status & ROSC_STATUS_ENABLED_BITS) || !(rosc_hw->status & ROSC_STATUS_STABLE_BITS))
        return HSM_ERR_ENTROPY;
    uint32_t src = (clocks_hw->clk[clk_sys].ctrl & CLOCKS_CLK_SYS_CTRL_AUXSRC_BITS) >>
                   CLOCKS_CLK_SYS_CTRL_AUXSRC_LSB;
    if ((clocks_hw->clk[clk_sys].ctrl & CLOCKS_CLK_SYS_CTRL_SRC_BITS) ==
            (CLOCKS_CLK_SYS_CTRL_SRC_VALUE_CLKSRC_CLK_SYS_AUX << CLOCKS_CLK_SYS_CTRL_SRC_LSB) &&
        src == CLOCKS_CLK_SYS_CTRL_AUXSRC_VALUE_ROSC_CLKSRC)
        return HSM_ERR_ENTROPY;
    return HSM_OK;
}

int rp2_noise_bit(void) {
    busy_wait_us_32(ROSC_SAMPLE_US);
    return (int)(rosc_hw->randombit & 1u);
}
