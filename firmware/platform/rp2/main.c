/*
 * main.c — the RP2040/RP2350 firmware: two cores, one card.
 *
 * Core 0 runs the USB stack (tud_task), the CCID layer, the time extensions and the LED.
 * Core 1 owns the card: rp2_otp_boot() and hsm_card_init() once, then the PHY record (EF E020)
 * is read from the store (core 1 is the store's only user), then hsm_card_apdu() for each job. No card
 * function runs on core 0 while core 1 holds a job (ccid.c calls hsm_card_reset() only when the
 * slot is idle), so the core needs no locking.
 *
 * Boot: after ready_q, core 0 builds the USB identity from the PHY record (boot_phy, written by
 * core 1 before ready_q and never again) unless this is a rescue boot: BOOTSEL pressed during
 * the rescue window, or a record that is unreadable or does not parse (hsm_phy_parse() refuses
 * it) — then the build's VID:PID, "Pico HSM (rescue)" and the board's LED defaults, so a bad
 * setting can always be undone (rewrite EF E020 through the card).
 * The window: BOOTSEL held while the chip resets starts the ROM boot loader instead of this
 * firmware, so the button counts when it is pressed just after power-up — from the start of
 * main() until HSM_RESCUE_WINDOW_MS after boot, or until 40 ms after the card is initialised if
 * that takes longer (so "hold it until the device appears on USB" always works).
 * Core 0 reads it before core 1 runs and then only while core 1 waits idle on job_q (USB is not
 * started, so no job can come): reading BOOTSEL parks the other core, and two cores parking
 * each other would deadlock, so core 0 never does it once core 1 may write flash.
 *
 * Hand-off: three one-entry pico_util queues. Their spin locks order memory between the cores.
 *   ready_q  core 1 -> core 0  hsm_card_init()'s result (and boot_phy); USB starts after it
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
#include "hsm/err.h"
#include "hsm/phy.h"
#include "hsm/port/device.h"
#include "hsm/store.h"
#include "rp2.h"

#define HSM_TIME_EXTENSION_MS 500u /* CCID time extension period while an APDU runs */
#ifndef HSM_RESCUE_WINDOW_MS
#define HSM_RESCUE_WINDOW_MS 1000u /* BOOTSEL counts until this long after boot (see above) */
#endif

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
static hsm_phy boot_phy;   /* written by core 1 before ready_q, then read-only */
static bool boot_phy_usable; /* false: unreadable or unparsable record -> rescue identity */

/* Reads EF E020 from the store (core 1); hsm_phy_boot_record() decides. */
static void phy_load(void) {
    static uint8_t rec[HSM_PHY_MAX];
    size_t total = 0, n = 0;
    int rc = hsm_store_size(HSM_PHY_FILE_ID, &total);
    if (rc == HSM_OK && total <= sizeof rec)
        rc = hsm_store_read(HSM_PHY_FILE_ID, 0, rec, sizeof rec, &n);
    else if (rc == HSM_OK)
        n = total; /* too long for any writer: refused below */
    boot_phy_usable = hsm_phy_boot_record(rc, rec, n, &boot_phy);
}

static void core1_main(void) {
    flash_safe_execute_core_init();
    rp2_otp_boot();
    int rc = hsm_card_init();
    phy_load();
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

static led_mode led_mode_now(void) {
    return led_mode_select(tud_mounted(), tud_suspended(), ccid_icc_active(&slot),
                           ccid_busy(&slot), rp2_led_request());
}

/* The USB identity and the LED settings for this boot (core 0, after ready_q). */
static void apply_phy(bool rescue) {
    uint8_t uid[8];
    usbid id;
    hsm_port_unique_id(uid);
    usbid_build(uid, rescue ? NULL : &boot_phy, rescue, HSM_USB_VID, HSM_USB_PID, &id);
    rp2_usb_set_identity(&id);
    rp2_led_configure(rescue ? NULL : &boot_phy);
}

int main(void) {
    bool bootsel = rp2_bootsel_held_at_boot(); /* before core 1 runs: see the rescue window */
    rp2_led_configure(NULL);
    queue_init(&ready_q, sizeof(int), 1);
    queue_init(&job_q, sizeof(apdu_job), 1);
    queue_init(&done_q, sizeof(uint32_t), 1);

    flash_safe_execute_core_init(); /* core 1 may park core 0 to write flash */
    multicore_launch_core1_with_stack(core1_main, core1_stack, sizeof core1_stack);
    while (!queue_try_remove(&ready_q, &card_init_result))
        rp2_led_show(LED_MODE_UNMOUNTED, hsm_port_millis());
    /* core 1 now waits on job_q: BOOTSEL may be read (3 reads in a row, 10 ms apart) */
    uint64_t window_end = hsm_port_millis() + 40; /* still held after a long card init */
    if (window_end < HSM_RESCUE_WINDOW_MS)
        window_end = HSM_RESCUE_WINDOW_MS;
    for (unsigned held = 0; !bootsel && hsm_port_millis() < window_end;) {
        held = rp2_bootsel_pressed() ? held + 1 : 0;
        bootsel = held >= 3;
        rp2_led_show(LED_MODE_UNMOUNTED, hsm_port_millis());
        sleep_ms(10);
    }
    apply_phy(bootsel || !boot_phy_usable);

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
        rp2_led_show(led_mode_now(), now);
    }
}
