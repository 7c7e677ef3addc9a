/*
 * ccid.h — USB CCID rev 1.1 message layer for one slot. Portable: no USB stack, no SDK.
 *
 * Message format (CCID 1.1 section 6). Every bulk message is a 10-byte header and abData:
 *   [0] bMessageType  [1..4] dwLength, little-endian = length of abData  [5] bSlot  [6] bSeq
 *   [7..9] command: bPowerSelect | bBWI wLevelParameter | bProtocolNum ...
 *          answer:  bStatus bError bChainParameter | bClockStatus | bProtocolNum
 *   [10..] abData (dwLength bytes)
 * bStatus = bmICCStatus (bits 0-1: 0 active, 1 present and inactive, 2 absent)
 *         | bmCommandStatus << 6 (0 processed, 1 failed, 2 time extension requested).
 * On failure bError is CCID_ERR_* or the offset of the offending header field (1 = dwLength,
 * 5 = bSlot, 7 = bPowerSelect/bProtocolNum, 8 = wLevelParameter, 10+n = abData[n]).
 *
 * Transport contract. A host command is one USB transfer of 64-byte packets; it ends after
 * 10 + dwLength bytes, and a short packet (< 64 bytes) ends the transfer. The transport:
 *   - arms bulk OUT only while ccid_rx_ready(), and hands every packet to ccid_rx_packet();
 *   - sends the message returned by ccid_tx_next() on bulk IN, followed by a zero-length
 *     packet when its length is a multiple of 64, then calls ccid_tx_done();
 *   - calls ccid_apdu_done() when the APDU handed to the apdu callback has been processed
 *     (on the device it runs on the other core), and ccid_time_extension() at least every
 *     second while ccid_busy();
 *   - calls ccid_bus_reset() on USB bus reset or deconfiguration.
 * All calls come from one thread of execution (core 0 on the device): nothing here is
 * re-entrant, and ccid_apdu_done() must not be called from inside the apdu callback.
 *
 * Invariants:
 *   - one command at a time (bMaxCCIDBusySlots = 1): while an APDU runs every other command is
 *     answered with CCID_ERR_SLOT_BUSY, and its abData is discarded unread;
 *   - every answer carries the bSlot and bSeq of its command; bSeq is echoed, never checked
 *     (the host owns it), so a repeated bSeq is simply a new command;
 *   - at most one answer is in flight; a complete command whose answer buffer is still taken
 *     waits (ccid_rx_ready() is false) until ccid_tx_done() frees it;
 *   - bytes after the end of a message in the same packet are dropped (one message per transfer).
 *
 * Buffers, all inside ccid_slot (the transport allocates it statically):
 *   cmd   abData of the command being received. Owner: this layer, except from the apdu callback
 *         to ccid_apdu_done(), when the APDU executor may read cmd[0 .. cmd_len).
 *   resp  the RDR_to_PC_DataBlock of the APDU: 10-byte header + R-APDU. The executor may write
 *         resp[10 .. 10 + resp_cap) from the callback to ccid_apdu_done(); then the transport
 *         reads it between ccid_tx_next() and ccid_tx_done(). cmd and resp never overlap.
 *   reply, te  answers to all other commands and the time-extension message; owner: this
 *         layer, lent read-only to the transport between ccid_tx_next() and ccid_tx_done().
 *
 * dwMaxCCIDMessageLength = CCID_MAX_MSG = 10 + 65544 = 65554: the largest well-formed C-APDU
 * (case 4E, Nc = 65535: 4 + 3 + 65535 + 2 bytes) fits one XfrBlock, so a host never chains a
 * command (wLevelParameter other than 0 is rejected), and the largest R-APDU (Ne = 65536 data
 * bytes + SW1 SW2 = 65538) fits one DataBlock.
 */
#ifndef HSM_CCID_H
#define HSM_CCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/apdu.h"

#define CCID_HDR_SIZE 10u
#define CCID_PKT_SIZE 64u /* bulk wMaxPacketSize, full speed */
#define CCID_MAX_DATA (HSM_CAPDU_MAX > HSM_RAPDU_MAX ? HSM_CAPDU_MAX : HSM_RAPDU_MAX)
/* Room for a response APDU (data + SW). A build may lower it to save RAM (the RP2040 build
 * does): commands still take every extended length, and the card answers what fits — no
 * command of this application needs more than a few KiB back (READ BINARY asks for at most
 * 4096 bytes at a time; GET CHALLENGE may answer fewer bytes than asked, spec 2.16). */
#ifndef CCID_RESP_DATA_MAX
#define CCID_RESP_DATA_MAX HSM_RAPDU_MAX
#endif
#define CCID_MAX_MSG (CCID_HDR_SIZE + CCID_MAX_DATA) /* dwMaxCCIDMessageLength */
#define CCID_ATR_MAX 33u                              /* ISO 7816-3: TS + 32 bytes */
#define CCID_REPLY_MAX (CCID_HDR_SIZE + CCID_ATR_MAX)
#define CCID_T1_PARAMS_LEN 7u

/* bMessageType, host to reader (bulk OUT) */
#define CCID_PC_SET_PARAMETERS 0x61
#define CCID_PC_ICC_POWER_ON 0x62
#define CCID_PC_ICC_POWER_OFF 0x63
#define CCID_PC_GET_SLOT_STATUS 0x65
#define CCID_PC_SECURE 0x69
#define CCID_PC_T0APDU 0x6A
#define CCID_PC_ESCAPE 0x6B
#define CCID_PC_GET_PARAMETERS 0x6C
#define CCID_PC_RESET_PARAMETERS 0x6D
#define CCID_PC_ICC_CLOCK 0x6E
#define CCID_PC_XFR_BLOCK 0x6F
#define CCID_PC_MECHANICAL 0x71
#define CCID_PC_ABORT 0x72
#define CCID_PC_SET_DATA_RATE_AND_CLOCK 0x73
/* bMessageType, reader to host (bulk IN, interrupt IN) */
#define CCID_RDR_DATA_BLOCK 0x80
#define CCID_RDR_SLOT_STATUS 0x81
#define CCID_RDR_PARAMETERS 0x82
#define CCID_RDR_ESCAPE 0x83
#define CCID_RDR_DATA_RATE_AND_CLOCK 0x84
#define CCID_RDR_NOTIFY_SLOT_CHANGE 0x50

/* bStatus */
#define CCID_ICC_ACTIVE 0x00
#define CCID_ICC_INACTIVE 0x01
#define CCID_ICC_ABSENT 0x02
#define CCID_CMD_FAILED 0x40
#define CCID_CMD_TIME_EXTENSION 0x80

/* bError */
#define CCID_ERR_CMD_NOT_SUPPORTED 0x00
#define CCID_ERR_BAD_LENGTH 0x01  /* offset of dwLength */
#define CCID_ERR_BAD_SLOT 0x05    /* offset of bSlot */
#define CCID_ERR_BAD_PARAM7 0x07  /* offset of bPowerSelect / bProtocolNum */
#define CCID_ERR_BAD_LEVEL 0x08   /* offset of wLevelParameter */
#define CCID_ERR_SLOT_BUSY 0xE0
#define CCID_ERR_ICC_MUTE 0xFE

/* Class-specific control requests (CCID 1.1 section 5.3) */
#define CCID_REQ_ABORT 0x01
#define CCID_REQ_GET_CLOCK_FREQUENCIES 0x02
#define CCID_REQ_GET_DATA_RATES 0x03

/* Starts processing one C-APDU: cmd[0..cmd_len) is readable and resp[0..resp_cap) writable
 * until the transport calls ccid_apdu_done() with the R-APDU length (2..resp_cap). */
typedef void (*ccid_apdu_fn)(void *ctx, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                             size_t resp_cap);

typedef struct {
    ccid_apdu_fn apdu_start;
    void *apdu_ctx;

    /* receiver: the message being assembled */
    uint8_t hdr[CCID_HDR_SIZE];
    uint32_t hdr_have;   /* header bytes received, 0..10 */
    uint32_t data_len;   /* dwLength of that message */
    uint32_t data_have;  /* abData bytes received (stored or discarded) */
    bool data_stored;    /* abData goes to cmd; false: too long, or the slot was busy */
    bool rx_while_busy;  /* the header arrived while an APDU ran */
    bool truncated;      /* the transfer ended before dwLength bytes */
    bool msg_pending;    /* complete, waiting for a free answer buffer */

    /* slot */
    bool icc_active;
    bool busy;           /* an APDU is out with the executor */
    bool busy_discard;   /* bus reset while busy: drop the answer, reset the card */
    uint8_t busy_seq;
    uint8_t t1_params[CCID_T1_PARAMS_LEN]; /* abProtocolDataStructure for T=1 */

    /* transmitter */
    uint8_t inflight;    /* which buffer the transport holds (CCID_TX_*), 0: none */
    uint32_t reply_len;  /* queued or in flight; 0: free */
    bool te_pending;
    uint32_t resp_len;   /* DataBlock queued or in flight; 0: none */
    uint8_t reply[CCID_REPLY_MAX];
    uint8_t te[CCID_HDR_SIZE];

    uint8_t cmd[CCID_MAX_DATA];
    uint8_t resp[CCID_HDR_SIZE + CCID_RESP_DATA_MAX];
} ccid_slot;

/* Resets everything; the ICC starts present and inactive. */
void ccid_init(ccid_slot *s, ccid_apdu_fn apdu_start, void *apdu_ctx);

/* USB bus reset / deconfiguration: forget partial and queued messages, deactivate the ICC and
 * reset the card (after the running APDU, if any, whose answer is then dropped). */
void ccid_bus_reset(ccid_slot *s);

/* Whether the transport may arm bulk OUT for another packet. */
bool ccid_rx_ready(const ccid_slot *s);

/* One bulk-OUT packet, 0..64 bytes. Only while ccid_rx_ready(). */
void ccid_rx_packet(ccid_slot *s, const uint8_t *pkt, size_t len);

/* The next message to send on bulk IN, or NULL (nothing queued, or one is still in flight). */
const uint8_t *ccid_tx_next(ccid_slot *s, size_t *len);

/* The message returned by ccid_tx_next() has been sent. */
void ccid_tx_done(ccid_slot *s);

/* The APDU handed to the callback is done; resp_len bytes of R-APDU are in place. */
void ccid_apdu_done(ccid_slot *s, size_t resp_len);

/* Queues RDR_to_PC_DataBlock with bStatus = time extension and bError = multiplier 1 for the
 * pending command. Returns false when no APDU is pending. */
bool ccid_time_extension(ccid_slot *s);

bool ccid_busy(const ccid_slot *s);
bool ccid_icc_active(const ccid_slot *s);

/* RDR_to_PC_NotifySlotChange for our one slot: card present, changed = the bit 1 flag. */
#define CCID_NOTIFY_LEN 2u
void ccid_notify_slot_change(uint8_t out[CCID_NOTIFY_LEN], bool changed);

/* T=1 parameters (abProtocolDataStructure) announced by an ATR: TA1, TC1 and the first T=1
 * TA/TB/TC, with ISO 7816-3 defaults for absent bytes. */
void ccid_t1_params_from_atr(const uint8_t *atr, size_t len, uint8_t out[CCID_T1_PARAMS_LEN]);

#endif
