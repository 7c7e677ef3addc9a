/*
 * port/device.h — platform service: identity, time and signs of life.
 */
#ifndef HSM_PORT_DEVICE_H
#define HSM_PORT_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/* The chip's 8-byte unique identifier (flash unique ID on RP2040/RP2350; a random value kept
 * with the emulator's flash file). Stable across boots; different between devices. */
void hsm_port_unique_id(uint8_t id[8]);

/* Milliseconds since boot (monotonic). */
uint64_t hsm_port_millis(void);

/* LED states of the seed firmware; platforms without an LED ignore them. */
typedef enum {
    HSM_LED_IDLE,       /* on 500 ms per second */
    HSM_LED_ACTIVE,     /* 4 blinks per second */
    HSM_LED_PROCESSING, /* 20 blinks per second */
    HSM_LED_CONFIRM,    /* off 100 ms per second: waiting for a button press */
} hsm_led_state;
void hsm_port_led(hsm_led_state s);

#endif
