/*
 * ccid_desc.h — the CCID interface as USB descriptor bytes (CCID 1.1 section 5.1), portable so
 * the host tests can check what the device sends.
 *
 * CCID_DESCRIPTOR(...) expands to CCID_DESC_LEN bytes, in this order:
 *   interface (9): class 0x0B, subclass 0, protocol 0 (bulk transfers), 3 endpoints
 *   CCID functional descriptor (54, type 0x21), one slot, fields below
 *   endpoint bulk OUT (64), endpoint bulk IN (64), endpoint interrupt IN (CCID_INT_EP_SIZE)
 *
 * Functional descriptor choices: bcdCCID 1.10; voltages 5 V, 3 V, 1.8 V; protocol T=1 only;
 * clock 3.58 MHz and 9600 bit/s (nominal: the "card" is on chip, nothing is clocked); IFSD 254;
 * dwFeatures = automatic parameters from the ATR, ICC activation, voltage, clock, baud rate and
 * parameter negotiation (so hosts send neither PPS nor SetParameters) + short and extended APDU
 * level exchange; dwMaxCCIDMessageLength = CCID_MAX_MSG (see ccid.h); bClassGetResponse and
 * bClassEnvelope FF (echo the APDU's class); no LCD, no PIN pad; bMaxCCIDBusySlots 1.
 */
#ifndef HSM_CCID_DESC_H
#define HSM_CCID_DESC_H

#include "ccid.h"

#define CCID_U16(x) (uint8_t)((x) & 0xFF), (uint8_t)(((x) >> 8) & 0xFF)
#define CCID_U32(x)                                                                  \
    (uint8_t)((x) & 0xFF), (uint8_t)(((x) >> 8) & 0xFF), (uint8_t)(((x) >> 16) & 0xFF), \
        (uint8_t)(((x) >> 24) & 0xFF)

#define CCID_CLASS 0x0B
#define CCID_FUNC_DESC_TYPE 0x21
#define CCID_FUNC_DESC_LEN 54u
#define CCID_INT_EP_SIZE 8u

#define CCID_VOLTAGES 0x07u                /* 5 V | 3 V | 1.8 V */
#define CCID_PROTOCOLS 0x00000002u         /* T=1 */
#define CCID_CLOCK_KHZ 3580u
#define CCID_DATA_RATE 9600u
#define CCID_MAX_IFSD 254u
#define CCID_FEAT_AUTO_PARAMS 0x00000002u  /* from ATR data */
#define CCID_FEAT_AUTO_ACTIVATION 0x00000004u
#define CCID_FEAT_AUTO_VOLTAGE 0x00000008u
#define CCID_FEAT_AUTO_CLOCK 0x00000010u
#define CCID_FEAT_AUTO_BAUD 0x00000020u
#define CCID_FEAT_AUTO_NEGOTIATION 0x00000040u
#define CCID_FEAT_EXTENDED_APDU 0x00040000u
#define CCID_FEATURES                                                                    \
    (CCID_FEAT_AUTO_PARAMS | CCID_FEAT_AUTO_ACTIVATION | CCID_FEAT_AUTO_VOLTAGE |        \
     CCID_FEAT_AUTO_CLOCK | CCID_FEAT_AUTO_BAUD | CCID_FEAT_AUTO_NEGOTIATION |           \
     CCID_FEAT_EXTENDED_APDU) /* 0x0004007E */

#define CCID_DESC_LEN (9u + CCID_FUNC_DESC_LEN + 7u + 7u + 7u)

/* itf: interface number; str: its string index; ep_out/ep_in/ep_int: endpoint addresses (IN
 * ones with bit 7 set); int_ms: polling interval of the interrupt endpoint. */
#define CCID_DESCRIPTOR(itf, str, ep_out, ep_in, ep_int, int_ms)                            \
    /* interface */                                                                         \
    9, 0x04, (itf), 0, 3, CCID_CLASS, 0, 0, (str),                                          \
    /* CCID functional descriptor */                                                        \
    CCID_FUNC_DESC_LEN, CCID_FUNC_DESC_TYPE, CCID_U16(0x0110), /* bcdCCID */                \
    0,                                /* bMaxSlotIndex */                                   \
    CCID_VOLTAGES, CCID_U32(CCID_PROTOCOLS), CCID_U32(CCID_CLOCK_KHZ), /* default clock */  \
    CCID_U32(CCID_CLOCK_KHZ),         /* dwMaximumClock */                                  \
    0,                                /* bNumClockSupported */                              \
    CCID_U32(CCID_DATA_RATE), CCID_U32(CCID_DATA_RATE), /* dwDataRate, dwMaxDataRate */     \
    0,                                /* bNumDataRatesSupported */                          \
    CCID_U32(CCID_MAX_IFSD), CCID_U32(0), CCID_U32(0), /* dwMaxIFSD, dwSynch, dwMechanical */ \
    CCID_U32(CCID_FEATURES), CCID_U32(CCID_MAX_MSG),                                        \
    0xFF, 0xFF,                       /* bClassGetResponse, bClassEnvelope */               \
    CCID_U16(0),                      /* wLcdLayout */                                      \
    0,                                /* bPINSupport */                                     \
    1,                                /* bMaxCCIDBusySlots */                               \
    /* endpoints */                                                                         \
    7, 0x05, (ep_out), 0x02, CCID_U16(CCID_PKT_SIZE), 0,                                    \
    7, 0x05, (ep_in), 0x02, CCID_U16(CCID_PKT_SIZE), 0,                                     \
    7, 0x05, (ep_int), 0x03, CCID_U16(CCID_INT_EP_SIZE), (int_ms)

#endif
