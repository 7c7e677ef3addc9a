/*
 * apdu.h — the one bounds-checked command APDU parser (ISO 7816-4 section 5.1).
 *
 * Accepts the seven encodings: case 1, 2S, 3S, 4S, 2E, 3E, 4E. Anything else (a length that
 * fits no case, Lc = 0 in short form, extended Lc = 0, mixed short/extended) is
 * HSM_ERR_WRONG_LENGTH. The parsed APDU points into the caller's buffer; nothing is copied.
 */
#ifndef HSM_APDU_H
#define HSM_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_APDU_DATA_MAX 65535u                    /* Nc limit of extended length */
#define HSM_APDU_NE_MAX 65536u                      /* Ne of extended Le 0000 */
#define HSM_CAPDU_MAX (4u + 3u + HSM_APDU_DATA_MAX + 2u) /* largest well-formed C-APDU */
#define HSM_RAPDU_MAX (HSM_APDU_NE_MAX + 2u)        /* largest R-APDU: data + SW1 SW2 */

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* Nc bytes inside the caller's buffer; NULL when nc == 0 */
    size_t nc;           /* command data length, 0..65535 */
    size_t ne;           /* expected response length: 0 (no Le), 1..256 short, 1..65536 extended */
    uint8_t iso_case;    /* 1, 2, 3 or 4 */
    bool extended;
} hsm_apdu;

/* Parses `len` bytes at `buf`. Returns HSM_OK or HSM_ERR_WRONG_LENGTH. */
int hsm_apdu_parse(const uint8_t *buf, size_t len, hsm_apdu *out);

#endif
