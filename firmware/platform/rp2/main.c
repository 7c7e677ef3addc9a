/*
 * main.c — the RP2040/RP2350 firmware: two cores, one card.
 *
 * Core 0 runs the USB stack (tud_task), the CCID layer, the time extensions and the LED.
 * Core 1 owns the card: hsm_card_init() once, then hsm_card_apdu() for each job. No card
 * function runs on core 0 while core 1 holds a job (ccid.c calls hsm_card_reset() only when the
 * slot is idle), so the core needs no locking.
 *
 * Hand-off: three one-entry pico_util queues. Their spin locks order memory between the cores.
 *   ready_q  core 1 -> core 0  hsm_card_init()'s result; USB starts after it
 *   job_q    core 0 -> core 1  the APDU's buffers (an apdu_job)
 *   done_q   core 1 -> core 0  the R-APDU length
 * The SIO FIFO is left to multicore_lockout, which flash_safe_execute() uses to park one core
 * while the other erases or programs flash (both cores are registered as lockout victims).
 *
 * Buffer ownership: `slot` owns the command and response buffers. From queueing a job until its
 * length comes back on done_q, core 1 may read the command and write the response; core 0
 * touches neither (ccid.h states the same contract from the CCID side).
 */
#include "hardware/sync.h"
#include "pico/flash.h"
#include "pico/multicore.h"
#include "pico/stdlib.h"
#include "pico/util/queue.h"
#include "tusb.h"

#include "ccid.h"
#include "hsm/card.h"
#include "hsm/port/device.h"
#include "rp2.h"

#define HSM_TIME_EXTENSION_MS 500u /* CCID time extension period while an APDU runs */

typedef struct {
    const uint8_t *cmd;
    size_t cmd_len;
    uint8_t *resp;
    size_t resp_cap;
} apdu_job;

static ccid_slot slot; /* owner: core 0, lends buffers to core 1 per job */
static queue_t ready_q, job_q, done_q;
static uint32_t core1_stack[HSM_CORE1_STACK_SIZE / sizeof(uint32_t)] __attribute__((aligned(32)));
static int card_init_result; /* kept for a debugger: the card answers either way */
static uint64_t last_time_extension_ms;

static void core1_main(void) {
    flash_safe_execute_core_init();
    int rc = hsm_card_init();
    queue_add_blocking(&ready_q, &rc);
    for (;;) {
        apdu_job job;
        queue_remove_blocking(&job_q, &job);
        uint32_t n = (uint32_t)hsm_card_apdu(job.cmd, job.cmd_len, job.resp, job.resp_cap);
        queue_add_blocking(&done_q, &n);
    }
}

static void apdu_start(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                       size_t resp_cap) {
    (void)ctx;
    apdu_job job = {cmd, cmd_len, resp, resp_cap};
    rp2_led_request_clear();
    last_time_extension_ms = hsm_port_millis();
    bool queued = queue_try_add(&job_q, &job);
    hard_assert(queued); /* the CCID layer runs one APDU at a time */
}

static hsm_led_state led_state(void) {
    if (ccid_busy(&slot))
        return HSM_LED_PROCESSING;
    return ccid_icc_active(&slot) ? HSM_LED_ACTIVE : HSM_LED_IDLE;
}

int main(void) {
    rp2_led_init();
    queue_init(&ready_q, sizeof(int), 1);
    queue_init(&job_q, sizeof(apdu_job), 1);
    queue_init(&done_q, sizeof(uint32_t), 1);

    flash_safe_execute_core_init(); /* core 1 may park core 0 to write flash */
    multicore_launch_core1_with_stack(core1_main, core1_stack, sizeof core1_stack);
    while (!queue_try_remove(&ready_q, &card_init_result))
        rp2_led_update(HSM_LED_IDLE, hsm_port_millis(), false);

    ccid_init(&slot, apdu_start, NULL);
    rp2_usb_ccid_init(&slot);
    tusb_init();

    for (;;) {
        tud_task();
        uint64_t now = hsm_port_millis();
        uint32_t n;
        if (queue_try_remove(&done_q, &n))
            ccid_apdu_done(&slot, n);
        if (ccid_busy(&slot) && now - last_time_extension_ms >= HSM_TIME_EXTENSION_MS) {
            ccid_time_extension(&slot);
            last_time_extension_ms = now;
        }
        rp2_usb_ccid_service();
        rp2_led_update(led_state(), now, ccid_busy(&slot));
    }
}
