/*
 * rp2.h — functions shared between the files of the RP2040/RP2350 platform (not a core port).
 */
#ifndef HSM_RP2_H
#define HSM_RP2_H

#include <stdbool.h>
#include <stdint.h>

#include "ccid.h"
#include "hsm/phy.h"
#include "hsm/port/device.h"
#include "led.h"
#include "usbid.h"

/* The build's USB VID:PID (CMake VIDPID=... or USB_VID/USB_PID; default 2E8A:10FD), used when
 * the PHY record sets none and in rescue boots. */
#ifndef HSM_USB_VID
#define HSM_USB_VID HSM_PHY_DEFAULT_VID
#endif
#ifndef HSM_USB_PID
#define HSM_USB_PID HSM_PHY_DEFAULT_PID
#endif

/* usb_ccid.c: the TinyUSB class driver around the CCID layer (core 0 only). */
void rp2_usb_ccid_init(ccid_slot *s);
/* Starts whatever the CCID layer has to send and re-arms bulk OUT when it can take data;
 * called from the main loop after ccid_apdu_done() / ccid_time_extension(). */
void rp2_usb_ccid_service(void);

/* usb_descriptors.c: the identity the descriptors report (VID:PID, product, serial). Set once
 * by main() before tusb_init(); core 0 only. */
void rp2_usb_set_identity(const usbid *id);

/* device.c: the LED state the card asked for with hsm_port_led() (an hsm_led_state, or -1),
 * written by core 1, read by core 0; cleared at the start of each APDU. */
int rp2_led_request(void);
void rp2_led_request_clear(void);

/* led_drv.c: the board LED (core 0 only). rp2_led_configure() applies the PHY record's LED
 * fields (NULL: the board's defaults); rp2_led_show() drives the pin for mode at now_ms. */
void rp2_led_configure(const hsm_phy *phy);
void rp2_led_show(led_mode mode, uint64_t now_ms);

/* bootsel.c: the BOOTSEL button. rp2_bootsel_pressed() parks the other core for a few
 * microseconds: call it from core 1 (the card, e.g. press-to-confirm) at any time, from core 0
 * only while core 1 cannot be writing flash (two cores parking each other deadlock; main.c's
 * boot window). rp2_bootsel_held_at_boot(): core 0 before core 1 is launched. */
bool rp2_bootsel_pressed(void);
bool rp2_bootsel_held_at_boot(void);

/* otp_rp2350.c / otp_none.c: the OTP device root (port/otp.h). rp2_otp_boot() reads its state
 * once, on core 1 before hsm_card_init(), finishes an interrupted lock, keeps the root in RAM
 * and soft-locks its page until the next reset. */
void rp2_otp_boot(void);

/* noise_rosc.c (RP2040) / noise_trng.c (RP2350): raw noise-source bits for entropy.c.
 * rp2_noise_start() prepares the source; rp2_noise_bit() returns one raw sample, 0 or 1, or
 * HSM_ERR_ENTROPY when the hardware does not deliver. Core 1 only, not re-entrant. */
int rp2_noise_start(void);
int rp2_noise_bit(void);

#endif
