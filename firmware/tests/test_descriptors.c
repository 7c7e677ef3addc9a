/*
 * test_descriptors.c — host check of the CCID interface descriptor bytes the device sends
 * (firmware/ccid/ccid_desc.h): lengths, every functional-descriptor field at its CCID 1.1
 * offset, and the three endpoints.
 */
#include "ccid_desc.h"
#include "check.h"

static const uint8_t d[] = {CCID_DESCRIPTOR(2, 4, 0x01, 0x81, 0x82, 16)};

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

int main(void) {
    CHECK_EQ_INT(sizeof d, CCID_DESC_LEN);
    CHECK_EQ_INT(sizeof d, 9 + 54 + 3 * 7);

    /* interface */
    const uint8_t itf[9] = {9, 0x04, 2, 0, 3, 0x0B, 0, 0, 4};
    CHECK_MEM(d, itf, 9);

    /* functional descriptor, offsets from CCID 1.1 table 5.1-1 */
    const uint8_t *f = d + 9;
    CHECK_EQ_INT(f[0], 54);
    CHECK_EQ_INT(f[1], 0x21);
    CHECK_EQ_INT(le16(f + 2), 0x0110);      /* bcdCCID */
    CHECK_EQ_INT(f[4], 0);                  /* bMaxSlotIndex: one slot */
    CHECK_EQ_INT(f[5], 0x07);               /* 5 V, 3 V, 1.8 V */
    CHECK_EQ_INT(le32(f + 6), 0x00000002);  /* T=1 */
    CHECK_EQ_INT(le32(f + 10), 3580);       /* dwDefaultClock */
    CHECK_EQ_INT(le32(f + 14), 3580);       /* dwMaximumClock */
    CHECK_EQ_INT(f[18], 0);                 /* bNumClockSupported */
    CHECK_EQ_INT(le32(f + 19), 9600);       /* dwDataRate */
    CHECK_EQ_INT(le32(f + 23), 9600);       /* dwMaxDataRate */
    CHECK_EQ_INT(f[27], 0);                 /* bNumDataRatesSupported */
    CHECK_EQ_INT(le32(f + 28), 254);        /* dwMaxIFSD */
    CHECK_EQ_INT(le32(f + 32), 0);          /* dwSynchProtocols */
    CHECK_EQ_INT(le32(f + 36), 0);          /* dwMechanical */
    CHECK_EQ_INT(le32(f + 40), 0x0004007E); /* dwFeatures */
    CHECK_EQ_INT(le32(f + 40) & 0x00070000, 0x00040000); /* extended APDU level */
    CHECK_EQ_INT(le32(f + 44), 65554);      /* dwMaxCCIDMessageLength */
    CHECK_EQ_INT(le32(f + 44), CCID_MAX_MSG);
    CHECK(le32(f + 44) >= 10 + HSM_CAPDU_MAX && le32(f + 44) >= 10 + HSM_RAPDU_MAX);
    CHECK_EQ_INT(f[48], 0xFF);              /* bClassGetResponse */
    CHECK_EQ_INT(f[49], 0xFF);              /* bClassEnvelope */
    CHECK_EQ_INT(le16(f + 50), 0);          /* wLcdLayout */
    CHECK_EQ_INT(f[52], 0);                 /* bPINSupport */
    CHECK_EQ_INT(f[53], 1);                 /* bMaxCCIDBusySlots */

    /* endpoints: bulk OUT 64, bulk IN 64, interrupt IN */
    const uint8_t ep[21] = {7, 0x05, 0x01, 0x02, 64, 0, 0,  7, 0x05, 0x81, 0x02, 64, 0, 0,
                            7, 0x05, 0x82, 0x03, CCID_INT_EP_SIZE, 0, 16};
    CHECK_MEM(d + 9 + 54, ep, sizeof ep);
    CHECK(CCID_INT_EP_SIZE >= CCID_NOTIFY_LEN);
    return CHECK_DONE();
}
