/*
 * card.h — the card as a transport sees it: ATR, power, and one APDU in, one R-APDU out.
 *
 * Transports (the emulator's vpcd loop, the RP2040/RP2350 CCID layer) call only these.
 * Buffer ownership: the transport owns both the command and the response buffer; they must not
 * overlap. The response buffer should hold HSM_RAPDU_MAX bytes; a smaller one limits response
 * data (the SW is always written). Calls are not re-entrant: one APDU at a time.
 */
#ifndef HSM_CARD_H
#define HSM_CARD_H

#include <stddef.h>
#include <stdint.h>

/* Brings the card up after the platform is ready (flash, entropy). Idempotent. */
int hsm_card_init(void);

/* The answer to reset. The pointer stays valid for the program's life. */
size_t hsm_card_atr(const uint8_t **atr);

/* Power off / reset / power on: clear every volatile state (selection, PIN state, challenge). */
void hsm_card_reset(void);

/* Forgets every piece of RAM state, as a loss of power would: the session, DKEK shares not yet
 * sealed, the device identity cache, the clock. The store's contents stay; the next
 * hsm_card_init() mounts it again. For platforms and tests that model a reboot. */
void hsm_card_power_off(void);

/* Processes one C-APDU; writes response data followed by SW1 SW2 into resp (resp_cap >= 2).
 * Returns the number of bytes written (always >= 2). Never fails otherwise: every error is
 * a status word. */
size_t hsm_card_apdu(const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap);

#endif
