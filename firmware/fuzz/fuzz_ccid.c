/*
 * fuzz_ccid.c — libFuzzer target over the CCID message layer as the USB host drives it.
 *
 * The input is a script of operations: 00 len bytes = one bulk-OUT packet (len % 65 bytes,
 * delivered only when the layer is ready for one); 01 = the host reads the next bulk-IN
 * message; 02 = the card finishes the pending APDU (the real card, through hsm_card_apdu);
 * 03 = a time extension tick; 04 = a USB bus reset. Every message the layer queues must be a
 * well-formed CCID header whose dwLength matches the bytes queued.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccid.h"
#include "hsm/card.h"
#include "ram_port.h"

static ccid_slot slot;
static struct {
    const uint8_t *cmd;
    size_t cmd_len;
    uint8_t *resp;
    size_t cap;
    int pending;
} job;

static void apdu_start(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t cap)
{
    (void)ctx;
    job.cmd = cmd, job.cmd_len = cmd_len, job.resp = resp, job.cap = cap, job.pending = 1;
}

static void drain(void)
{
    size_t len;
    const uint8_t *m = ccid_tx_next(&slot, &len);
    if (m == NULL) {
        return;
    }
    if (len < 10) {
        abort();
    }
    uint32_t dw = (uint32_t)m[1] | (uint32_t)m[2] << 8 | (uint32_t)m[3] << 16 | (uint32_t)m[4] << 24;
    if (dw != len - 10) {
        abort();
    }
    ccid_tx_done(&slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        ram_port_reset(NULL);
        if (hsm_card_init() != 0) {
            abort();
        }
        ready = 1;
    }
    memset(&job, 0, sizeof(job));
    ccid_init(&slot, apdu_start, NULL);
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++] % 5;
        switch (op) {
        case 0: {
            if (i >= size) {
                return 0;
            }
            size_t n = data[i++] % 65;
            if (n > size - i) {
                n = size - i;
            }
            if (ccid_rx_ready(&slot)) {
                uint8_t pkt[64];
                memcpy(pkt, data + i, n);
                ccid_rx_packet(&slot, pkt, n);
            }
            i += n;
            break;
        }
        case 1:
            drain();
            break;
        case 2:
            if (job.pending) {
                job.pending = 0;
                size_t r = hsm_card_apdu(job.cmd, job.cmd_len, job.resp, job.cap);
                ccid_apdu_done(&slot, r);
            }
            break;
        case 3:
            (void)ccid_time_extension(&slot);
            break;
        default:
            ccid_bus_reset(&slot);
            break;
        }
    }
    return 0;
}
