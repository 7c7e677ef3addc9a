/*
 * ccid.c — USB CCID rev 1.1 message layer for one slot. Format, transport contract, invariants
 * and buffer ownership: see ccid.h.
 *
 * Answer types (CCID 1.1 section 6.1): IccPowerOn, XfrBlock, Secure -> DataBlock (80);
 * IccPowerOff, GetSlotStatus, IccClock, T0APDU, Mechanical, Abort and unknown types -> SlotStatus
 * (81); Get/Set/ResetParameters -> Parameters (82); Escape -> Escape (83);
 * SetDataRateAndClockFrequency -> DataRateAndClockFrequency (84).
 *
 * Checks, in this order, each failing with the command's answer type: transfer shorter than
 * dwLength or dwLength > CCID_MAX_DATA (bError 1); bSlot != 0 (5, bmICCStatus absent); slot busy
 * (E0); then per command.
 */
#include "ccid.h"

#include <string.h>

#include "hsm/card.h"

/* Our bugs (a transport breaking the contract in ccid.h) trap in every build. */
#ifndef CCID_ASSERT
#define CCID_ASSERT(cond)          \
    do {                           \
        if (!(cond))               \
            __builtin_trap();      \
    } while (0)
#endif

enum { CCID_TX_NONE = 0, CCID_TX_REPLY, CCID_TX_TE, CCID_TX_RESP };

static void put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_hdr(uint8_t *p, uint8_t type, uint32_t len, uint8_t slot, uint8_t seq,
                    uint8_t status, uint8_t error, uint8_t b9) {
    p[0] = type;
    put_le32(p + 1, len);
    p[5] = slot;
    p[6] = seq;
    p[7] = status;
    p[8] = error;
    p[9] = b9;
}

void ccid_t1_params_from_atr(const uint8_t *atr, size_t len, uint8_t out[CCID_T1_PARAMS_LEN]) {
    uint8_t fidi = 0x11, guard = 0x00, ifsc = 0x20, bwi_cwi = 0x4D, crc = 0;
    bool inverse = len > 0 && atr[0] == 0x3F;
    bool have_ta = false, have_tb = false, have_tc = false;
    size_t i = 1;
    if (len >= 2) {
        uint8_t y = atr[1] >> 4;
        unsigned group = 1, proto = 0;
        i = 2;
        while (y) {
            uint8_t ta = 0, tb = 0, tc = 0, td = 0;
            bool pa = false, pb = false, pc = false, pd = false;
            if ((y & 1) && i < len) { ta = atr[i++]; pa = true; }
            if ((y & 2) && i < len) { tb = atr[i++]; pb = true; }
            if ((y & 4) && i < len) { tc = atr[i++]; pc = true; }
            if ((y & 8) && i < len) { td = atr[i++]; pd = true; }
            if (group == 1) {
                if (pa) fidi = ta;
                if (pc) guard = tc;
            } else if (group >= 3 && proto == 1) {
                if (pa && !have_ta) { ifsc = ta; have_ta = true; }
                if (pb && !have_tb) { bwi_cwi = tb; have_tb = true; }
                if (pc && !have_tc) { crc = tc & 1; have_tc = true; }
            }
            if (!pd)
                break;
            proto = td & 0x0F;
            y = td >> 4;
            group++;
        }
    }
    out[0] = fidi;                                          /* bmFindexDindex */
    out[1] = (uint8_t)(0x10 | (inverse ? 0x02 : 0) | crc); /* bmTCCKST1 */
    out[2] = guard;                                         /* bGuardTimeT1 */
    out[3] = bwi_cwi;                                       /* bmWaitingIntegersT1 */
    out[4] = 0x00;                                          /* bClockStop: not allowed */
    out[5] = ifsc;                                          /* bIFSC */
    out[6] = 0x00;                                          /* bNadValue */
}

static void default_params(ccid_slot *s) {
    const uint8_t *atr;
    size_t n = hsm_card_atr(&atr);
    ccid_t1_params_from_atr(atr, n, s->t1_params);
}

static void rx_restart(ccid_slot *s) {
    s->hdr_have = 0;
    s->data_len = 0;
    s->data_have = 0;
    s->data_stored = false;
    s->rx_while_busy = false;
    s->truncated = false;
    s->msg_pending = false;
}

void ccid_init(ccid_slot *s, ccid_apdu_fn apdu_start, void *apdu_ctx) {
    CCID_ASSERT(apdu_start != NULL);
    /* Only the bookkeeping is cleared: cmd and resp are overwritten before they are read. */
    memset(s, 0, offsetof(ccid_slot, cmd));
    s->apdu_start = apdu_start;
    s->apdu_ctx = apdu_ctx;
    rx_restart(s);
    default_params(s);
}

void ccid_bus_reset(ccid_slot *s) {
    rx_restart(s);
    s->inflight = CCID_TX_NONE;
    s->reply_len = 0;
    s->te_pending = false;
    s->resp_len = 0;
    s->icc_active = false;
    if (s->busy) {
        s->busy_discard = true; /* the card is reset when the executor gives it back */
    } else {
        hsm_card_reset();
        default_params(s);
    }
}

bool ccid_busy(const ccid_slot *s) { return s->busy; }
bool ccid_icc_active(const ccid_slot *s) { return s->icc_active; }
bool ccid_rx_ready(const ccid_slot *s) { return !s->msg_pending; }

static uint8_t icc_status(const ccid_slot *s) {
    return s->icc_active ? CCID_ICC_ACTIVE : CCID_ICC_INACTIVE;
}

static uint8_t answer_type(uint8_t cmd_type) {
    switch (cmd_type) {
    case CCID_PC_ICC_POWER_ON:
    case CCID_PC_XFR_BLOCK:
    case CCID_PC_SECURE:
        return CCID_RDR_DATA_BLOCK;
    case CCID_PC_GET_PARAMETERS:
    case CCID_PC_RESET_PARAMETERS:
    case CCID_PC_SET_PARAMETERS:
        return CCID_RDR_PARAMETERS;
    case CCID_PC_ESCAPE:
        return CCID_RDR_ESCAPE;
    case CCID_PC_SET_DATA_RATE_AND_CLOCK:
        return CCID_RDR_DATA_RATE_AND_CLOCK;
    default:
        return CCID_RDR_SLOT_STATUS;
    }
}

/* Byte 9 of an answer: bProtocolNum (1 = T=1) for Parameters, else 0 (bChainParameter "one
 * block", bClockStatus "running", or RFU). */
static uint8_t answer_b9(uint8_t type) { return type == CCID_RDR_PARAMETERS ? 0x01 : 0x00; }

static void reply_error(ccid_slot *s, uint8_t error, uint8_t icc) {
    uint8_t type = answer_type(s->hdr[0]);
    put_hdr(s->reply, type, 0, s->hdr[5], s->hdr[6], (uint8_t)(CCID_CMD_FAILED | icc), error,
            answer_b9(type));
    s->reply_len = CCID_HDR_SIZE;
}

static void reply_slot_status(ccid_slot *s) {
    put_hdr(s->reply, CCID_RDR_SLOT_STATUS, 0, 0, s->hdr[6], icc_status(s), 0, 0x00);
    s->reply_len = CCID_HDR_SIZE;
}

static void reply_parameters(ccid_slot *s) {
    put_hdr(s->reply, CCID_RDR_PARAMETERS, CCID_T1_PARAMS_LEN, 0, s->hdr[6], icc_status(s), 0,
            0x01);
    memcpy(s->reply + CCID_HDR_SIZE, s->t1_params, CCID_T1_PARAMS_LEN);
    s->reply_len = CCID_HDR_SIZE + CCID_T1_PARAMS_LEN;
}

static void cmd_power_on(ccid_slot *s) {
    if (s->data_len != 0) {
        reply_error(s, CCID_ERR_BAD_LENGTH, icc_status(s));
        return;
    }
    if (s->hdr[7] > 3) { /* bPowerSelect: 0 automatic, 1 5 V, 2 3 V, 3 1.8 V */
        reply_error(s, CCID_ERR_BAD_PARAM7, icc_status(s));
        return;
    }
    const uint8_t *atr;
    size_t n = hsm_card_atr(&atr);
    CCID_ASSERT(n >= 2 && n <= CCID_ATR_MAX);
    hsm_card_reset(); /* power on of an active card is a warm reset */
    s->icc_active = true;
    default_params(s);
    put_hdr(s->reply, CCID_RDR_DATA_BLOCK, (uint32_t)n, 0, s->hdr[6], CCID_ICC_ACTIVE, 0, 0x00);
    memcpy(s->reply + CCID_HDR_SIZE, atr, n);
    s->reply_len = CCID_HDR_SIZE + (uint32_t)n;
}

static void cmd_power_off(ccid_slot *s) {
    if (s->data_len != 0) {
        reply_error(s, CCID_ERR_BAD_LENGTH, icc_status(s));
        return;
    }
    hsm_card_reset();
    s->icc_active = false;
    default_params(s);
    reply_slot_status(s);
}

static void cmd_xfr_block(ccid_slot *s) {
    if (s->hdr[8] != 0 || s->hdr[9] != 0) { /* wLevelParameter: no chaining, see ccid.h */
        reply_error(s, CCID_ERR_BAD_LEVEL, icc_status(s));
        return;
    }
    if (s->data_len == 0) {
        reply_error(s, CCID_ERR_BAD_LENGTH, icc_status(s));
        return;
    }
    if (!s->icc_active) {
        reply_error(s, CCID_ERR_ICC_MUTE, CCID_ICC_INACTIVE);
        return;
    }
    s->busy = true;
    s->busy_seq = s->hdr[6];
    s->apdu_start(s->apdu_ctx, s->cmd, s->data_len, s->resp + CCID_HDR_SIZE, CCID_RESP_DATA_MAX);
}

static void cmd_set_parameters(ccid_slot *s) {
    if (s->hdr[7] != 0x01) { /* bProtocolNum: only T=1 */
        reply_error(s, CCID_ERR_BAD_PARAM7, icc_status(s));
        return;
    }
    if (s->data_len != CCID_T1_PARAMS_LEN) {
        reply_error(s, CCID_ERR_BAD_LENGTH, icc_status(s));
        return;
    }
    const uint8_t *p = s->cmd;
    uint8_t bad = 0;
    if ((p[1] & 0xFC) != 0x10)
        bad = CCID_HDR_SIZE + 1; /* bmTCCKST1 */
    else if (p[4] > 3)
        bad = CCID_HDR_SIZE + 4; /* bClockStop */
    else if (p[5] == 0x00 || p[5] == 0xFF)
        bad = CCID_HDR_SIZE + 5; /* bIFSC 1..254 */
    else if (p[6] != 0x00)
        bad = CCID_HDR_SIZE + 6; /* bNadValue: only 0 (dwFeatures bit 0x200 clear) */
    if (bad) {
        reply_error(s, bad, icc_status(s));
        return;
    }
    memcpy(s->t1_params, p, CCID_T1_PARAMS_LEN);
    reply_parameters(s);
}

/* Commands whose only valid dwLength is 0. */
static bool needs_empty(uint8_t type) {
    return type == CCID_PC_GET_SLOT_STATUS || type == CCID_PC_GET_PARAMETERS ||
           type == CCID_PC_RESET_PARAMETERS || type == CCID_PC_ABORT;
}

static void process(ccid_slot *s) {
    uint8_t type = s->hdr[0];
    if (s->truncated || s->data_len > CCID_MAX_DATA) {
        reply_error(s, CCID_ERR_BAD_LENGTH, icc_status(s));
        return;
    }
    if (s->hdr[5] != 0) {
        reply_error(s, CCID_ERR_BAD_SLOT, CCID_ICC_ABSENT);
        return;
    }
    if (s->busy || s->rx_while_busy) {
        reply_error(s, CCID_ERR_SLOT_BUSY, icc_status(s));
        return;
    }
    if (needs_empty(type) && s->data_len != 0) {
        reply_error(s, CCID_ERR_BAD_LENGTH, icc_status(s));
        return;
    }
    switch (type) {
    case CCID_PC_ICC_POWER_ON:
        cmd_power_on(s);
        break;
    case CCID_PC_ICC_POWER_OFF:
        cmd_power_off(s);
        break;
    case CCID_PC_GET_SLOT_STATUS:
    case CCID_PC_ABORT: /* nothing to abort when the slot is idle */
        reply_slot_status(s);
        break;
    case CCID_PC_XFR_BLOCK:
        cmd_xfr_block(s);
        break;
    case CCID_PC_GET_PARAMETERS:
        reply_parameters(s);
        break;
    case CCID_PC_RESET_PARAMETERS:
        default_params(s);
        reply_parameters(s);
        break;
    case CCID_PC_SET_PARAMETERS:
        cmd_set_parameters(s);
        break;
    default:
        reply_error(s, CCID_ERR_CMD_NOT_SUPPORTED, icc_status(s));
        break;
    }
}

/* Processes the complete message once its answer buffers are free. */
static void try_process(ccid_slot *s) {
    if (!s->msg_pending || s->reply_len != 0 || s->resp_len != 0)
        return;
    process(s);
    rx_restart(s);
}

static void header_done(ccid_slot *s) {
    s->data_len = get_le32(s->hdr + 1);
    s->data_have = 0;
    s->rx_while_busy = s->busy;
    s->data_stored = !s->busy && s->data_len <= CCID_MAX_DATA;
}

void ccid_rx_packet(ccid_slot *s, const uint8_t *pkt, size_t len) {
    CCID_ASSERT(!s->msg_pending && len <= CCID_PKT_SIZE);
    size_t i = 0;
    bool complete = false;
    while (!complete && i < len) {
        if (s->hdr_have < CCID_HDR_SIZE) {
            size_t n = CCID_HDR_SIZE - s->hdr_have;
            if (n > len - i)
                n = len - i;
            memcpy(s->hdr + s->hdr_have, pkt + i, n);
            s->hdr_have += (uint32_t)n;
            i += n;
            if (s->hdr_have == CCID_HDR_SIZE)
                header_done(s);
        } else {
            size_t n = s->data_len - s->data_have;
            if (n > len - i)
                n = len - i;
            if (s->data_stored)
                memcpy(s->cmd + s->data_have, pkt + i, n);
            s->data_have += (uint32_t)n;
            i += n;
        }
        complete = s->hdr_have == CCID_HDR_SIZE && s->data_have == s->data_len;
    }
    if (!complete && len < CCID_PKT_SIZE) {
        /* The transfer ended early. A stray zero-length packet between messages is harmless;
         * a partial header cannot be answered (no bSeq yet) and is dropped. */
        if (s->hdr_have < CCID_HDR_SIZE) {
            rx_restart(s);
            return;
        }
        s->truncated = true;
        complete = true;
    }
    if (complete) {
        s->msg_pending = true;
        try_process(s);
    }
}

const uint8_t *ccid_tx_next(ccid_slot *s, size_t *len) {
    if (s->inflight != CCID_TX_NONE)
        return NULL;
    if (s->reply_len) {
        s->inflight = CCID_TX_REPLY;
        *len = s->reply_len;
        return s->reply;
    }
    if (s->te_pending) {
        s->te_pending = false;
        s->inflight = CCID_TX_TE;
        *len = CCID_HDR_SIZE;
        return s->te;
    }
    if (s->resp_len) {
        s->inflight = CCID_TX_RESP;
        *len = s->resp_len;
        return s->resp;
    }
    return NULL;
}

void ccid_tx_done(ccid_slot *s) {
    CCID_ASSERT(s->inflight != CCID_TX_NONE);
    if (s->inflight == CCID_TX_REPLY)
        s->reply_len = 0;
    else if (s->inflight == CCID_TX_RESP)
        s->resp_len = 0;
    s->inflight = CCID_TX_NONE;
    try_process(s);
}

void ccid_apdu_done(ccid_slot *s, size_t resp_len) {
    CCID_ASSERT(s->busy && resp_len >= 2 && resp_len <= CCID_RESP_DATA_MAX);
    s->busy = false;
    s->te_pending = false; /* never after the final answer */
    if (s->busy_discard) {
        s->busy_discard = false;
        hsm_card_reset();
        default_params(s);
    } else {
        put_hdr(s->resp, CCID_RDR_DATA_BLOCK, (uint32_t)resp_len, 0, s->busy_seq,
                CCID_ICC_ACTIVE, 0, 0x00);
        s->resp_len = CCID_HDR_SIZE + (uint32_t)resp_len;
    }
    try_process(s);
}

bool ccid_time_extension(ccid_slot *s) {
    if (!s->busy)
        return false;
    if (s->inflight == CCID_TX_TE || s->te_pending)
        return true; /* one is already on its way */
    put_hdr(s->te, CCID_RDR_DATA_BLOCK, 0, 0, s->busy_seq,
            (uint8_t)(CCID_CMD_TIME_EXTENSION | CCID_ICC_ACTIVE), 0x01, 0x00);
    s->te_pending = true;
    return true;
}

void ccid_notify_slot_change(uint8_t out[CCID_NOTIFY_LEN], bool changed) {
    out[0] = CCID_RDR_NOTIFY_SLOT_CHANGE;
    out[1] = (uint8_t)(0x01 | (changed ? 0x02 : 0x00)); /* bit 0: present, bit 1: changed */
}
