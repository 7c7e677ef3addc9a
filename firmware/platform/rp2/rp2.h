/*
 * rp2.h — functions shared between the files of the RP2040/RP2350 platform (not a core port).
 */
#ifndef HSM_RP2_H
#define HSM_RP2_H

#include <stdbool.h>
#include <stdint.h>

#include "ccid.h"
#include "hsm/port/device.h"

/* usb_ccid.c: the TinyUSB class driver around the CCID layer (core 0 only). */
void rp2_usb_ccid_init(ccid_slot *s);
/* Starts whatever the CCID layer has to send and re-arms bulk OUT when it can take data;
 * called from the main loop after ccid_apdu_done() / ccid_time_extension(). */
void rp2_usb_ccid_service(void);

/* device.c: the board LED. The main loop (core 0) drives it from `base`, the transport's state;
 * while an APDU runs (`busy`), a state the card asked for with hsm_port_led() wins. */
void rp2_led_init(void);
void rp2_led_update(hsm_led_state base, uint64_t now_ms, bool busy);
void rp2_led_request_clear(void); /* at the start of each APDU */

/* noise_rosc.c (RP2040) / noise_trng.c (RP2350): raw noise-source bits for entropy.c.
 * rp2_noise_start() prepares the source; rp2_noise_bit() returns one raw sample, 0 or 1, or
 * HSM_ERR_ENTROPY when the hardware does not deliver. Core 1 only, not re-entrant. */
int rp2_noise_start(void);
int rp2_noise_bit(void);

#endif
