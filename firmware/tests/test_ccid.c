/*
 * test_ccid.c — host tests of the CCID message layer (firmware/ccid/ccid.c) against a fake card.
 *
 * The harness plays the USB transport of ccid.h: it splits each host message into 64-byte
 * bulk-OUT packets, drains answers with ccid_tx_next()/ccid_tx_done(), and completes APDUs by
 * hand with ccid_apdu_done(), the way core 0 does when core 1 has finished.
 */
#include <stdlib.h>

#include "ccid.h"
#include "ccid_desc.h"
#include "check.h"

/* ---- fake card ---------------------------------------------------------------------------- */

static const uint8_t fake_atr[] = {0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE,
                                   0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D,
                                   0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xFA};
static unsigned resets;

size_t hsm_card_atr(const uint8_t **atr) {
    *atr = fake_atr;
    return sizeof fake_atr;
}

void hsm_card_reset(void) { resets++; }

/* ---- transport harness -------------------------------------------------------------------- */

static ccid_slot S;

static struct {
    unsigned calls;
    const uint8_t *cmd;
    size_t cmd_len;
    uint8_t *resp;
    size_t resp_cap;
} apdu;

static void apdu_start(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                       size_t resp_cap) {
    CHECK(ctx == &apdu);
    apdu.calls++;
    apdu.cmd = cmd;
    apdu.cmd_len = cmd_len;
    apdu.resp = resp;
    apdu.resp_cap = resp_cap;
}

/* Sends one host message as the host controller would: full 64-byte packets, then the rest. */
static void send_msg(const uint8_t *msg, size_t len) {
    size_t off = 0;
    do {
        size_t n = len - off > CCID_PKT_SIZE ? CCID_PKT_SIZE : len - off;
        CHECK(ccid_rx_ready(&S));
        ccid_rx_packet(&S, msg + off, n);
        off += n;
    } while (off < len);
}

static uint8_t *mk(uint8_t *m, uint8_t type, uint32_t len, uint8_t slot, uint8_t seq, uint8_t b7,
                   uint8_t b8, uint8_t b9) {
    m[0] = type;
    m[1] = (uint8_t)len;
    m[2] = (uint8_t)(len >> 8);
    m[3] = (uint8_t)(len >> 16);
    m[4] = (uint8_t)(len >> 24);
    m[5] = slot;
    m[6] = seq;
    m[7] = b7;
    m[8] = b8;
    m[9] = b9;
    return m;
}

static void send_hdr(uint8_t type, uint32_t len, uint8_t slot, uint8_t seq, uint8_t b7) {
    uint8_t m[CCID_HDR_SIZE];
    send_msg(mk(m, type, len, slot, seq, b7, 0, 0), sizeof m);
}

/* Takes the next answer; returns its length, 0 when none is queued. */
static uint8_t rx_buf[CCID_MAX_MSG];
static size_t recv_msg(void) {
    size_t len = 0;
    const uint8_t *p = ccid_tx_next(&S, &len);
    if (!p)
        return 0;
    CHECK(len <= sizeof rx_buf);
    memcpy(rx_buf, p, len);
    CHECK(ccid_tx_next(&S, &len) == NULL); /* one in flight at a time */
    ccid_tx_done(&S);
    return len;
}

/* Checks the next answer's header. */
static void expect(uint8_t type, uint32_t len, uint8_t slot, uint8_t seq, uint8_t status,
                   uint8_t error, uint8_t b9, int line) {
    size_t n = recv_msg();
    if (n < CCID_HDR_SIZE) {
        fprintf(stderr, "line %d: no answer\n", line);
        CHECK(n >= CCID_HDR_SIZE);
        return;
    }
    const uint8_t want[CCID_HDR_SIZE] = {type,   (uint8_t)len, (uint8_t)(len >> 8),
                                         (uint8_t)(len >> 16), (uint8_t)(len >> 24),
                                         slot,   seq,          status,
                                         error,  b9};
    if (memcmp(rx_buf, want, CCID_HDR_SIZE) != 0) {
        fprintf(stderr, "line %d: got", line);
        for (int i = 0; i < (int)CCID_HDR_SIZE; i++)
            fprintf(stderr, " %02X", rx_buf[i]);
        fprintf(stderr, "\n");
    }
    CHECK_MEM(rx_buf, want, CCID_HDR_SIZE);
    CHECK_EQ_INT(n, CCID_HDR_SIZE + len);
}
#define EXPECT(...) expect(__VA_ARGS__, __LINE__)
#define EXPECT_NOTHING() CHECK_EQ_INT(recv_msg(), 0)

static void power_on(uint8_t seq) {
    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0, seq, 0);
    EXPECT(0x80, sizeof fake_atr, 0, seq, 0x00, 0, 0);
}

/* Sends an XfrBlock with `data`, checks it reached the executor unchanged. */
static void xfr(const uint8_t *data, uint32_t len, uint8_t seq) {
    static uint8_t m[CCID_MAX_MSG];
    mk(m, CCID_PC_XFR_BLOCK, len, 0, seq, 0, 0, 0);
    memcpy(m + CCID_HDR_SIZE, data, len);
    unsigned calls = apdu.calls;
    send_msg(m, CCID_HDR_SIZE + len);
    CHECK_EQ_INT(apdu.calls, calls + 1);
    CHECK_EQ_INT(apdu.cmd_len, len);
    CHECK(apdu.cmd && memcmp(apdu.cmd, data, len) == 0);
    CHECK_EQ_INT(apdu.resp_cap, HSM_RAPDU_MAX);
    CHECK(ccid_busy(&S));
}

static void finish_9000(uint8_t seq) {
    apdu.resp[0] = 0x90;
    apdu.resp[1] = 0x00;
    ccid_apdu_done(&S, 2);
    EXPECT(0x80, 2, 0, seq, 0x00, 0, 0);
    CHECK(rx_buf[10] == 0x90 && rx_buf[11] == 0x00);
    CHECK(!ccid_busy(&S));
}

static void fresh(void) {
    ccid_init(&S, apdu_start, &apdu);
    memset(&apdu, 0, sizeof apdu);
    resets = 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_slot_status_and_power(void) {
    fresh();
    CHECK(!ccid_icc_active(&S));
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 1, 0);
    EXPECT(0x81, 0, 0, 1, 0x01, 0, 0); /* present, inactive */

    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0, 2, 0x01); /* 5 V */
    EXPECT(0x80, sizeof fake_atr, 0, 2, 0x00, 0, 0);
    CHECK_MEM(rx_buf + 10, fake_atr, sizeof fake_atr);
    CHECK_EQ_INT(resets, 1);
    CHECK(ccid_icc_active(&S));

    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 3, 0);
    EXPECT(0x81, 0, 0, 3, 0x00, 0, 0);

    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0, 4, 0x04); /* bPowerSelect 4 does not exist */
    EXPECT(0x80, 0, 0, 4, 0x40, 0x07, 0);

    send_hdr(CCID_PC_ICC_POWER_OFF, 0, 0, 5, 0);
    EXPECT(0x81, 0, 0, 5, 0x01, 0, 0);
    CHECK_EQ_INT(resets, 2);
    CHECK(!ccid_icc_active(&S));

    send_hdr(CCID_PC_ABORT, 0, 0, 6, 0);
    EXPECT(0x81, 0, 0, 6, 0x01, 0, 0);
    EXPECT_NOTHING();
}

static void test_parameters(void) {
    static const uint8_t defaults[7] = {0x18, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00};
    uint8_t m[CCID_HDR_SIZE + 7];
    fresh();
    power_on(1);

    send_hdr(CCID_PC_GET_PARAMETERS, 0, 0, 2, 0);
    EXPECT(0x82, 7, 0, 2, 0x00, 0, 0x01);
    CHECK_MEM(rx_buf + 10, defaults, 7);

    static const uint8_t mine[7] = {0x11, 0x11, 0x02, 0x4D, 0x00, 0x20, 0x00};
    mk(m, CCID_PC_SET_PARAMETERS, 7, 0, 3, 0x01, 0, 0);
    memcpy(m + 10, mine, 7);
    send_msg(m, sizeof m);
    EXPECT(0x82, 7, 0, 3, 0x00, 0, 0x01);
    CHECK_MEM(rx_buf + 10, mine, 7);
    send_hdr(CCID_PC_GET_PARAMETERS, 0, 0, 4, 0);
    EXPECT(0x82, 7, 0, 4, 0x00, 0, 0x01);
    CHECK_MEM(rx_buf + 10, mine, 7);

    send_hdr(CCID_PC_RESET_PARAMETERS, 0, 0, 5, 0);
    EXPECT(0x82, 7, 0, 5, 0x00, 0, 0x01);
    CHECK_MEM(rx_buf + 10, defaults, 7);

    /* T=0 structure is refused: bError = offset of bProtocolNum */
    mk(m, CCID_PC_SET_PARAMETERS, 5, 0, 6, 0x00, 0, 0);
    send_msg(m, 15);
    EXPECT(0x82, 0, 0, 6, 0x40, 0x07, 0x01);
    /* T=1 with a 5-byte structure */
    mk(m, CCID_PC_SET_PARAMETERS, 5, 0, 7, 0x01, 0, 0);
    send_msg(m, 15);
    EXPECT(0x82, 0, 0, 7, 0x40, 0x01, 0x01);
    /* bad fields: bError = offset in the message */
    struct { uint8_t idx, val, err; } bad[] = {{1, 0x00, 11}, {4, 0x04, 14}, {5, 0x00, 15},
                                               {5, 0xFF, 15}, {6, 0x12, 16}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mk(m, CCID_PC_SET_PARAMETERS, 7, 0, (uint8_t)(8 + i), 0x01, 0, 0);
        memcpy(m + 10, defaults, 7);
        m[10 + bad[i].idx] = bad[i].val;
        send_msg(m, sizeof m);
        EXPECT(0x82, 0, 0, (uint8_t)(8 + i), 0x40, bad[i].err, 0x01);
    }
    send_hdr(CCID_PC_GET_PARAMETERS, 0, 0, 20, 0);
    EXPECT(0x82, 7, 0, 20, 0x00, 0, 0x01);
    CHECK_MEM(rx_buf + 10, defaults, 7); /* nothing stored by the failed attempts */
}

static void test_xfr_block_and_time_extension(void) {
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01,
                                     0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
    fresh();
    CHECK(!ccid_time_extension(&S)); /* nothing pending */
    power_on(0x41);
    xfr(select, sizeof select, 0x42);
    CHECK(apdu.resp + apdu.resp_cap <= apdu.cmd || apdu.cmd + apdu.cmd_len <= apdu.resp);
    EXPECT_NOTHING();

    CHECK(ccid_time_extension(&S));
    static const uint8_t te[10] = {0x80, 0, 0, 0, 0, 0x00, 0x42, 0x80, 0x01, 0x00};
    CHECK_EQ_INT(recv_msg(), 10);
    CHECK_MEM(rx_buf, te, 10);
    /* two requests before the transport sends: one message */
    CHECK(ccid_time_extension(&S));
    CHECK(ccid_time_extension(&S));
    CHECK_EQ_INT(recv_msg(), 10);
    CHECK_MEM(rx_buf, te, 10);
    EXPECT_NOTHING();

    /* a queued time extension never follows the final answer */
    CHECK(ccid_time_extension(&S));
    finish_9000(0x42);
    EXPECT_NOTHING();
    CHECK(!ccid_time_extension(&S));

    /* card not powered: ICC_MUTE */
    send_hdr(CCID_PC_ICC_POWER_OFF, 0, 0, 0x43, 0);
    EXPECT(0x81, 0, 0, 0x43, 0x01, 0, 0);
    uint8_t m[CCID_HDR_SIZE + 4];
    mk(m, CCID_PC_XFR_BLOCK, 4, 0, 0x44, 0, 0, 0);
    memcpy(m + 10, select, 4);
    unsigned calls = apdu.calls;
    send_msg(m, sizeof m);
    EXPECT(0x80, 0, 0, 0x44, 0x41, 0xFE, 0);
    CHECK_EQ_INT(apdu.calls, calls);

    /* chaining (wLevelParameter != 0) is refused */
    power_on(0x45);
    mk(m, CCID_PC_XFR_BLOCK, 4, 0, 0x46, 0, 0x01, 0);
    send_msg(m, sizeof m);
    EXPECT(0x80, 0, 0, 0x46, 0x40, 0x08, 0);
    CHECK_EQ_INT(apdu.calls, calls);
}

static void test_busy(void) {
    static const uint8_t apdu1[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    fresh();
    power_on(1);
    xfr(apdu1, sizeof apdu1, 7);
    const uint8_t *cmd = apdu.cmd;

    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 8, 0);
    EXPECT(0x81, 0, 0, 8, 0x40, 0xE0, 0);
    uint8_t m[CCID_HDR_SIZE + 5];
    mk(m, CCID_PC_XFR_BLOCK, 5, 0, 9, 0, 0, 0);
    memcpy(m + 10, "\x11\x22\x33\x44\x55", 5);
    send_msg(m, sizeof m);
    EXPECT(0x80, 0, 0, 9, 0x40, 0xE0, 0);
    CHECK_EQ_INT(apdu.calls, 1);
    CHECK_MEM(cmd, apdu1, sizeof apdu1); /* the running command's bytes were not touched */
    send_hdr(CCID_PC_ICC_POWER_OFF, 0, 0, 10, 0);
    EXPECT(0x81, 0, 0, 10, 0x40, 0xE0, 0);
    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0, 11, 0);
    EXPECT(0x80, 0, 0, 11, 0x40, 0xE0, 0);
    send_hdr(CCID_PC_GET_PARAMETERS, 0, 0, 12, 0);
    EXPECT(0x82, 0, 0, 12, 0x40, 0xE0, 1);
    send_hdr(CCID_PC_ABORT, 0, 0, 13, 0);
    EXPECT(0x81, 0, 0, 13, 0x40, 0xE0, 0);
    CHECK_EQ_INT(resets, 1);
    CHECK(ccid_icc_active(&S));

    finish_9000(7); /* the answer carries the running command's bSeq */
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 14, 0);
    EXPECT(0x81, 0, 0, 14, 0x00, 0, 0);

    /* a command that arrived while busy stays "busy" even if it is answered after the APDU
     * ended: its abData was never stored */
    xfr(apdu1, sizeof apdu1, 15);
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 16, 0); /* answer queued, not yet read */
    mk(m, CCID_PC_XFR_BLOCK, 5, 0, 17, 0, 0, 0);
    send_msg(m, sizeof m); /* complete, waits for the answer buffer */
    CHECK(!ccid_rx_ready(&S));
    apdu.resp[0] = 0x90;
    apdu.resp[1] = 0x00;
    ccid_apdu_done(&S, 2);
    EXPECT(0x81, 0, 0, 16, 0x40, 0xE0, 0);
    EXPECT(0x80, 2, 0, 15, 0x00, 0, 0);
    EXPECT(0x80, 0, 0, 17, 0x40, 0xE0, 0);
    CHECK_EQ_INT(apdu.calls, 2);
    CHECK(ccid_rx_ready(&S));
}

static void test_wrong_lengths(void) {
    uint8_t m[CCID_HDR_SIZE + 3] = {0};
    fresh();
    power_on(1);
    static const uint8_t types[][2] = {
        {CCID_PC_GET_SLOT_STATUS, 0x81}, {CCID_PC_ICC_POWER_ON, 0x80},
        {CCID_PC_ICC_POWER_OFF, 0x81},   {CCID_PC_GET_PARAMETERS, 0x82},
        {CCID_PC_RESET_PARAMETERS, 0x82}, {CCID_PC_ABORT, 0x81},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        mk(m, types[i][0], 3, 0, (uint8_t)(0x20 + i), 0, 0, 0);
        send_msg(m, sizeof m);
        EXPECT(types[i][1], 0, 0, (uint8_t)(0x20 + i), 0x40, 0x01, types[i][1] == 0x82);
    }
    CHECK_EQ_INT(resets, 1); /* the malformed power commands did nothing */
    CHECK(ccid_icc_active(&S));

    /* XfrBlock without an APDU */
    send_hdr(CCID_PC_XFR_BLOCK, 0, 0, 0x30, 0);
    EXPECT(0x80, 0, 0, 0x30, 0x40, 0x01, 0);
    CHECK_EQ_INT(apdu.calls, 0);

    /* transfer shorter than dwLength: a short packet ends it */
    uint8_t t[40];
    mk(t, CCID_PC_XFR_BLOCK, 100, 0, 0x31, 0, 0, 0);
    memset(t + 10, 0xAA, 30);
    send_msg(t, sizeof t);
    EXPECT(0x80, 0, 0, 0x31, 0x40, 0x01, 0);
    CHECK_EQ_INT(apdu.calls, 0);
    /* ... and the receiver is in step again */
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 0x32, 0);
    EXPECT(0x81, 0, 0, 0x32, 0x00, 0, 0);

    /* a zero-length packet right after a full packet ends a transfer too */
    uint8_t f[64];
    mk(f, CCID_PC_XFR_BLOCK, 200, 0, 0x33, 0, 0, 0);
    memset(f + 10, 0xBB, 54);
    ccid_rx_packet(&S, f, sizeof f);
    EXPECT_NOTHING();
    ccid_rx_packet(&S, f, 0);
    EXPECT(0x80, 0, 0, 0x33, 0x40, 0x01, 0);

    /* a partial header is dropped unanswered */
    ccid_rx_packet(&S, f, 6);
    EXPECT_NOTHING();
    CHECK(ccid_rx_ready(&S));
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 0x34, 0);
    EXPECT(0x81, 0, 0, 0x34, 0x00, 0, 0);

    /* dwLength larger than the buffer, transfer cut short */
    send_hdr(CCID_PC_XFR_BLOCK, 0x00100000, 0, 0x35, 0);
    EXPECT(0x80, 0, 0, 0x35, 0x40, 0x01, 0);
    /* dwLength one larger than the buffer, every byte sent: discarded, then refused */
    static uint8_t big[CCID_MAX_MSG + 1];
    mk(big, CCID_PC_XFR_BLOCK, CCID_MAX_DATA + 1, 0, 0x36, 0, 0, 0);
    memset(big + 10, 0x5A, CCID_MAX_DATA + 1);
    send_msg(big, sizeof big);
    EXPECT(0x80, 0, 0, 0x36, 0x40, 0x01, 0);
    CHECK_EQ_INT(apdu.calls, 0);

    /* stray zero-length packet between messages: ignored */
    ccid_rx_packet(&S, f, 0);
    EXPECT_NOTHING();
    /* junk after a message in the same packet: dropped */
    uint8_t j[16];
    mk(j, CCID_PC_GET_SLOT_STATUS, 0, 0, 0x37, 0, 0, 0);
    memset(j + 10, CCID_PC_GET_SLOT_STATUS, 6);
    ccid_rx_packet(&S, j, sizeof j);
    EXPECT(0x81, 0, 0, 0x37, 0x00, 0, 0);
    EXPECT_NOTHING();
}

static void test_bad_slot_and_unsupported(void) {
    fresh();
    power_on(1);
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 1, 2, 0);
    EXPECT(0x81, 0, 1, 2, 0x42, 0x05, 0);
    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0xFF, 3, 0);
    EXPECT(0x80, 0, 0xFF, 3, 0x42, 0x05, 0);
    uint8_t m[CCID_HDR_SIZE + 4];
    mk(m, CCID_PC_XFR_BLOCK, 4, 3, 4, 0, 0, 0);
    memset(m + 10, 0, 4);
    send_msg(m, sizeof m);
    EXPECT(0x80, 0, 3, 4, 0x42, 0x05, 0);
    CHECK_EQ_INT(apdu.calls, 0);

    static const uint8_t unsupported[][2] = {
        {CCID_PC_ESCAPE, 0x83},     {CCID_PC_ICC_CLOCK, 0x81},
        {CCID_PC_T0APDU, 0x81},     {CCID_PC_SECURE, 0x80},
        {CCID_PC_MECHANICAL, 0x81}, {CCID_PC_SET_DATA_RATE_AND_CLOCK, 0x84},
        {0x99, 0x81},               {0x00, 0x81},
        {0x80, 0x81}, /* an answer type sent as a command */
    };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        mk(m, unsupported[i][0], 4, 0, (uint8_t)(0x10 + i), 0, 0, 0);
        send_msg(m, sizeof m);
        EXPECT(unsupported[i][1], 0, 0, (uint8_t)(0x10 + i), 0x40, 0x00, 0);
    }
    CHECK(ccid_icc_active(&S));
}

static void test_sequence_numbers(void) {
    fresh();
    /* bSeq is echoed, never checked: repeats and wrap-around are ordinary commands */
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 5, 0);
    EXPECT(0x81, 0, 0, 5, 0x01, 0, 0);
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 5, 0);
    EXPECT(0x81, 0, 0, 5, 0x01, 0, 0);
    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0, 0xFF, 0);
    EXPECT(0x80, sizeof fake_atr, 0, 0xFF, 0x00, 0, 0);
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 0x00, 0);
    EXPECT(0x81, 0, 0, 0x00, 0x00, 0, 0);

    /* an APDU with the same bSeq as the busy answer that interrupts it */
    static const uint8_t a[] = {0x00, 0xB0, 0x00, 0x00, 0x00};
    xfr(a, sizeof a, 0x10);
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 0x10, 0);
    EXPECT(0x81, 0, 0, 0x10, 0x40, 0xE0, 0);
    CHECK(ccid_time_extension(&S));
    static const uint8_t te[10] = {0x80, 0, 0, 0, 0, 0, 0x10, 0x80, 0x01, 0x00};
    CHECK_EQ_INT(recv_msg(), 10);
    CHECK_MEM(rx_buf, te, 10);
    finish_9000(0x10);
    xfr(a, sizeof a, 0x10); /* the same bSeq again */
    finish_9000(0x10);
}

static void test_split_packets(void) {
    static uint8_t apdu_data[600];
    fresh();
    power_on(1);
    for (size_t i = 0; i < sizeof apdu_data; i++)
        apdu_data[i] = (uint8_t)(i * 7 + 3);
    /* message lengths around packet boundaries: 63, 64 (no short packet at all), 65, 128,
     * 129, 610 */
    static const uint32_t lens[] = {53, 54, 55, 118, 119, 600};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        xfr(apdu_data, lens[i], (uint8_t)(0x50 + i));
        EXPECT_NOTHING();
        finish_9000((uint8_t)(0x50 + i));
    }
    /* answers whose length is a multiple of 64 are still one message each */
    xfr(apdu_data, 10, 0x60);
    memset(apdu.resp, 0xCD, 52);
    apdu.resp[52] = 0x90;
    apdu.resp[53] = 0x00;
    ccid_apdu_done(&S, 54);
    EXPECT(0x80, 54, 0, 0x60, 0x00, 0, 0);
}

static void test_max_apdu_round_trip(void) {
    static uint8_t capdu[HSM_CAPDU_MAX];
    fresh();
    power_on(1);
    /* case 4E with Nc = 65535 and Le = 0000: the largest well-formed C-APDU */
    capdu[0] = 0x80;
    capdu[1] = 0x68;
    capdu[2] = 0x01;
    capdu[3] = 0x02;
    capdu[4] = 0x00;
    capdu[5] = 0xFF;
    capdu[6] = 0xFF;
    for (size_t i = 0; i < HSM_APDU_DATA_MAX; i++)
        capdu[7 + i] = (uint8_t)(i ^ (i >> 8));
    capdu[HSM_CAPDU_MAX - 2] = 0x00;
    capdu[HSM_CAPDU_MAX - 1] = 0x00;
    CHECK_EQ_INT(CCID_HDR_SIZE + sizeof capdu, CCID_MAX_MSG);
    xfr(capdu, sizeof capdu, 0x77);

    /* the largest R-APDU: 65536 data bytes + SW */
    for (size_t i = 0; i < HSM_APDU_NE_MAX; i++)
        apdu.resp[i] = (uint8_t)(i * 13 + 1);
    apdu.resp[HSM_APDU_NE_MAX] = 0x90;
    apdu.resp[HSM_APDU_NE_MAX + 1] = 0x00;
    CHECK(ccid_time_extension(&S));
    CHECK_EQ_INT(recv_msg(), 10);
    ccid_apdu_done(&S, HSM_RAPDU_MAX);
    EXPECT(0x80, HSM_RAPDU_MAX, 0, 0x77, 0x00, 0, 0);
    int ok = 1;
    for (size_t i = 0; i < HSM_APDU_NE_MAX; i++)
        ok &= rx_buf[10 + i] == (uint8_t)(i * 13 + 1);
    CHECK(ok);
    CHECK(rx_buf[10 + HSM_APDU_NE_MAX] == 0x90 && rx_buf[11 + HSM_APDU_NE_MAX] == 0x00);

    /* 65535-byte data echoed back */
    xfr(capdu, sizeof capdu, 0x78);
    memcpy(apdu.resp, apdu.cmd + 7, HSM_APDU_DATA_MAX);
    apdu.resp[HSM_APDU_DATA_MAX] = 0x90;
    apdu.resp[HSM_APDU_DATA_MAX + 1] = 0x00;
    ccid_apdu_done(&S, HSM_APDU_DATA_MAX + 2);
    EXPECT(0x80, HSM_APDU_DATA_MAX + 2, 0, 0x78, 0x00, 0, 0);
    CHECK_MEM(rx_buf + 10, capdu + 7, HSM_APDU_DATA_MAX);
}

static void test_answer_buffer_flow_control(void) {
    fresh();
    /* the host sends again before reading the answer: the second command waits */
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 1, 0);
    CHECK(ccid_rx_ready(&S));
    send_hdr(CCID_PC_ICC_POWER_ON, 0, 0, 2, 0);
    CHECK(!ccid_rx_ready(&S)); /* the transport must stop arming bulk OUT */
    EXPECT(0x81, 0, 0, 1, 0x01, 0, 0);
    CHECK(ccid_rx_ready(&S));
    EXPECT(0x80, sizeof fake_atr, 0, 2, 0x00, 0, 0);

    /* the APDU answer is still being sent when the next XfrBlock arrives: it waits */
    static const uint8_t a[] = {0x00, 0xCA, 0x01, 0x00, 0x00};
    xfr(a, sizeof a, 3);
    apdu.resp[0] = 0x90;
    apdu.resp[1] = 0x00;
    ccid_apdu_done(&S, 2);
    size_t len;
    const uint8_t *p = ccid_tx_next(&S, &len);
    CHECK(p != NULL && len == 12 && p[6] == 3);
    uint8_t m[CCID_HDR_SIZE + sizeof a];
    mk(m, CCID_PC_XFR_BLOCK, sizeof a, 0, 4, 0, 0, 0);
    memcpy(m + 10, a, sizeof a);
    ccid_rx_packet(&S, m, sizeof m);
    CHECK_EQ_INT(apdu.calls, 1);
    CHECK(!ccid_rx_ready(&S));
    ccid_tx_done(&S);
    CHECK_EQ_INT(apdu.calls, 2);
    CHECK(ccid_rx_ready(&S));
    finish_9000(4);
}

static void test_bus_reset(void) {
    static const uint8_t a[] = {0x00, 0x20, 0x00, 0x81, 0x00};
    fresh();
    power_on(1);
    CHECK_EQ_INT(resets, 1);
    ccid_bus_reset(&S);
    CHECK_EQ_INT(resets, 2);
    CHECK(!ccid_icc_active(&S));

    power_on(2);
    xfr(a, sizeof a, 3);
    CHECK(ccid_time_extension(&S));
    ccid_bus_reset(&S);
    CHECK_EQ_INT(resets, 3); /* not while the executor holds the card */
    EXPECT_NOTHING();
    apdu.resp[0] = 0x90;
    apdu.resp[1] = 0x00;
    ccid_apdu_done(&S, 2);
    CHECK_EQ_INT(resets, 4);
    EXPECT_NOTHING(); /* the answer belongs to the previous host session */
    CHECK(!ccid_busy(&S));
    send_hdr(CCID_PC_GET_SLOT_STATUS, 0, 0, 4, 0);
    EXPECT(0x81, 0, 0, 4, 0x01, 0, 0);
}

static void test_atr_params_and_notify(void) {
    uint8_t p[7];
    ccid_t1_params_from_atr(fake_atr, sizeof fake_atr, p);
    static const uint8_t want[7] = {0x18, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00};
    CHECK_MEM(p, want, 7);
    static const uint8_t bare[] = {0x3B, 0x00};
    ccid_t1_params_from_atr(bare, sizeof bare, p);
    static const uint8_t defaults[7] = {0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00};
    CHECK_MEM(p, defaults, 7);
    /* T=1 with CRC (TC3 bit 0), inverse convention, truncated ATR does not read past its end */
    static const uint8_t crc[] = {0x3F, 0x90, 0x95, 0x81, 0xF1, 0x80, 0x20, 0x01};
    ccid_t1_params_from_atr(crc, sizeof crc, p);
    static const uint8_t want_crc[7] = {0x95, 0x13, 0x00, 0x20, 0x00, 0x80, 0x00};
    CHECK_MEM(p, want_crc, 7);
    ccid_t1_params_from_atr(crc, 5, p);
    CHECK(p[0] == 0x95 && p[5] == 0x20);

    uint8_t n[CCID_NOTIFY_LEN];
    ccid_notify_slot_change(n, true);
    CHECK(n[0] == 0x50 && n[1] == 0x03);
    ccid_notify_slot_change(n, false);
    CHECK(n[0] == 0x50 && n[1] == 0x01);
}

int main(void) {
    CHECK_EQ_INT(CCID_MAX_MSG, 65554);
    test_slot_status_and_power();
    test_parameters();
    test_xfr_block_and_time_extension();
    test_busy();
    test_wrong_lengths();
    test_bad_slot_and_unsupported();
    test_sequence_numbers();
    test_split_packets();
    test_max_apdu_round_trip();
    test_answer_buffer_flow_control();
    test_bus_reset();
    test_atr_params_and_notify();
    return CHECK_DONE();
}
