/*
 * port/presence.h — platform service: user presence (the BOOTSEL button on RP2040/RP2350).
 *
 * Used by press-to-confirm (pico-hsm-extensions.md 3.5) and by the rescue applet's commands
 * that change the device (3.9). The core decides whether and how long to wait; the platform
 * only waits.
 */
#ifndef HSM_PORT_PRESENCE_H
#define HSM_PORT_PRESENCE_H

#include <stdint.h>

/* Waits up to timeout_ms for the user to confirm (button press). Returns 1 when
   confirmed, 0 on timeout. May be called from the card task; must keep the host
   alive (the platform sends CCID time extensions while it waits). */
int hsm_port_user_presence(uint32_t timeout_ms);

#endif
