/*
 * usb_ccid.c — TinyUSB class driver for the CCID interface, registered with
 * usbd_app_driver_get_cb(). It only moves bytes: every CCID decision is in firmware/ccid.
 *
 * Endpoints (addresses from the configuration descriptor): bulk OUT, armed one 64-byte packet
 * at a time into out_pkt, and only while ccid_rx_ready() (otherwise the controller NAKs, which is
 * the flow control ccid.h asks for); bulk IN, one CCID message at a time, in chunks TinyUSB can
 * take (uint16_t lengths; every chunk but the last a multiple of 64, so no short packet ends the
 * message early), then a zero-length packet when the message length is a multiple of 64 so the
 * host's read completes; interrupt IN, one RDR_to_PC_NotifySlotChange (card present, changed)
 * when the configuration is set.
 * Class requests: ABORT is acknowledged (the PC_to_RDR_Abort that follows on bulk OUT is
 * answered by the CCID layer); GET_CLOCK_FREQUENCIES and GET_DATA_RATES stall, as the functional
 * descriptor lists none.
 *
 * Runs on core 0 only: from tud_task() callbacks and from the main loop between them.
 * Buffers: out_pkt is the controller's while an OUT transfer is armed, ours otherwise; the
 * message being sent belongs to the CCID layer (lent until ccid_tx_done()); notify is the
 * controller's while the interrupt transfer is pending.
 */
#include "device/usbd_pvt.h"
#include "tusb.h"

#include "ccid.h"
#include "ccid_desc.h"
#include "rp2.h"

#define TX_CHUNK_MAX 0xFFC0u /* largest multiple of 64 that fits usbd_edpt_xfer's length */

static struct {
    ccid_slot *slot;
    bool opened;
    uint8_t rhport, ep_out, ep_in, ep_int;
    bool out_armed;
    /* the message on bulk IN */
    const uint8_t *tx_msg;
    size_t tx_len, tx_off;
    bool tx_active, tx_zlp_sent;
} u;

static uint8_t out_pkt[CCID_PKT_SIZE];
static uint8_t notify[CCID_NOTIFY_LEN];

void rp2_usb_ccid_init(ccid_slot *s) { u.slot = s; }

static void tx_continue(void) {
    size_t left = u.tx_len - u.tx_off;
    if (left > 0) {
        uint16_t n = (uint16_t)(left > TX_CHUNK_MAX ? TX_CHUNK_MAX : left);
        /* usbd_edpt_xfer only reads an IN buffer */
        if (usbd_edpt_xfer(u.rhport, u.ep_in, (uint8_t *)(uintptr_t)(u.tx_msg + u.tx_off), n)) {
            u.tx_off += n;
            return;
        }
    } else if (u.tx_len % CCID_PKT_SIZE == 0 && !u.tx_zlp_sent) {
        u.tx_zlp_sent = true;
        if (usbd_edpt_xfer(u.rhport, u.ep_in, NULL, 0))
            return;
    }
    /* sent, or the endpoint refused it (closed by a reset): the message is finished either way */
    u.tx_active = false;
    ccid_tx_done(u.slot);
}

void rp2_usb_ccid_service(void) {
    if (!u.opened)
        return;
    if (!u.tx_active) {
        size_t len;
        const uint8_t *m = ccid_tx_next(u.slot, &len);
        if (m) {
            u.tx_msg = m;
            u.tx_len = len;
            u.tx_off = 0;
            u.tx_zlp_sent = false;
            u.tx_active = true;
            tx_continue();
        }
    }
    if (!u.out_armed && ccid_rx_ready(u.slot))
        u.out_armed = usbd_edpt_xfer(u.rhport, u.ep_out, out_pkt, CCID_PKT_SIZE);
}

static void ccidd_init(void) { u.opened = false; }

static bool ccidd_deinit(void) {
    u.opened = false;
    return true;
}

/* Bus reset or unplug: the stack has closed the endpoints. */
static void ccidd_reset(uint8_t rhport) {
    (void)rhport;
    if (u.slot)
        ccid_bus_reset(u.slot);
    u.opened = false;
    u.out_armed = false;
    u.tx_active = false;
}

static uint16_t ccidd_open(uint8_t rhport, tusb_desc_interface_t const *itf, uint16_t max_len) {
    TU_VERIFY(itf->bInterfaceClass == CCID_CLASS && itf->bInterfaceSubClass == 0 &&
                  itf->bNumEndpoints == 3 && u.slot != NULL && !u.opened,
              0);
    uint8_t const *p = (uint8_t const *)itf;
    uint8_t const *end = p + max_len;
    p = tu_desc_next(p);
    TU_VERIFY(p + 2 <= end && tu_desc_type(p) == CCID_FUNC_DESC_TYPE &&
                  tu_desc_len(p) == CCID_FUNC_DESC_LEN,
              0);
    p = tu_desc_next(p);
    u.ep_out = u.ep_in = u.ep_int = 0;
    for (int i = 0; i < 3; i++) {
        TU_VERIFY(p + sizeof(tusb_desc_endpoint_t) <= end && tu_desc_type(p) == TUSB_DESC_ENDPOINT,
                  0);
        tusb_desc_endpoint_t const *ep = (tusb_desc_endpoint_t const *)p;
        TU_ASSERT(usbd_edpt_open(rhport, ep), 0);
        if (ep->bmAttributes.xfer == TUSB_XFER_INTERRUPT)
            u.ep_int = ep->bEndpointAddress;
        else if (tu_edpt_dir(ep->bEndpointAddress) == TUSB_DIR_IN)
            u.ep_in = ep->bEndpointAddress;
        else
            u.ep_out = ep->bEndpointAddress;
        p = tu_desc_next(p);
    }
    TU_VERIFY(u.ep_out && u.ep_in && u.ep_int, 0);

    u.rhport = rhport;
    u.opened = true;
    u.out_armed = false;
    u.tx_active = false;
    ccid_notify_slot_change(notify, true);
    usbd_edpt_xfer(rhport, u.ep_int, notify, sizeof notify);
    rp2_usb_ccid_service();
    return (uint16_t)(p - (uint8_t const *)itf);
}

static bool ccidd_control_xfer_cb(uint8_t rhport, uint8_t stage,
                                  tusb_control_request_t const *request) {
    if (request->bmRequestType_bit.type != TUSB_REQ_TYPE_CLASS)
        return false;
    if (stage != CONTROL_STAGE_SETUP)
        return true;
    if (request->bRequest == CCID_REQ_ABORT)
        return tud_control_status(rhport, request);
    return false; /* GET_CLOCK_FREQUENCIES, GET_DATA_RATES, anything else: stall */
}

static bool ccidd_xfer_cb(uint8_t rhport, uint8_t ep_addr, xfer_result_t result,
                          uint32_t xferred_bytes) {
    (void)rhport;
    if (!u.opened)
        return true;
    if (ep_addr == u.ep_out) {
        u.out_armed = false;
        if (result == XFER_RESULT_SUCCESS)
            ccid_rx_packet(u.slot, out_pkt, xferred_bytes);
    } else if (ep_addr == u.ep_in) {
        if (u.tx_active) {
            if (result == XFER_RESULT_SUCCESS) {
                tx_continue();
            } else { /* stalled or aborted: the message is lost, the host will retry */
                u.tx_active = false;
                ccid_tx_done(u.slot);
            }
        }
    }
    rp2_usb_ccid_service();
    return true;
}

static usbd_class_driver_t const ccid_driver = {
    .name = "CCID",
    .init = ccidd_init,
    .deinit = ccidd_deinit,
    .reset = ccidd_reset,
    .open = ccidd_open,
    .control_xfer_cb = ccidd_control_xfer_cb,
    .xfer_cb = ccidd_xfer_cb,
    .sof = NULL,
};

usbd_class_driver_t const *usbd_app_driver_get_cb(uint8_t *driver_count) {
    *driver_count = 1;
    return &ccid_driver;
}
