/*
 * presence.c — port/presence.h and port/system.h for the emulator.
 *
 * The button: SIGUSR1 presses it. A wait (hsm_port_user_presence) is confirmed by a SIGUSR1
 * that arrives while it waits; presses outside a wait are forgotten, as a real button's are.
 * Environment:
 *   PICO_HSM_BUTTON=auto                 confirm every wait at once (no signal needed)
 *   PICO_HSM_BUTTON_TIMEOUT_MS=<n>       wait at most n ms instead of the time the core asks
 * Default: wait for SIGUSR1 for the whole time the core asks (15 s for press-to-confirm, 30 s
 * for the rescue applet), then time out. SIGTERM/SIGINT end a wait at once (unconfirmed).
 *
 * System: platform byte 03 (emulation), the host's clock, and "reboot" = the card state reset
 * by the core (nothing else to do here).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_presence.h"
#include "hsm/port/device.h"
#include "hsm/port/presence.h"
#include "hsm/port/system.h"

static volatile sig_atomic_t pressed;
static volatile sig_atomic_t waiting;
static volatile sig_atomic_t interrupted;

static void on_press(int sig)
{
    (void)sig;
    if (waiting) {
        pressed = 1;
    }
}

void hsm_host_presence_init(void)
{
    struct sigaction sa = {.sa_handler = on_press};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}

void hsm_host_presence_interrupt(void)
{
    interrupted = 1;
}

int hsm_port_user_presence(uint32_t timeout_ms)
{
    const char *mode = getenv("PICO_HSM_BUTTON");
    if (mode != NULL && strcmp(mode, "auto") == 0) {
        return 1;
    }
    const char *cap = getenv("PICO_HSM_BUTTON_TIMEOUT_MS");
    if (cap != NULL && *cap != '\0') {
        char *end;
        unsigned long v = strtoul(cap, &end, 10);
        if (*end == '\0' && v < timeout_ms) {
            timeout_ms = (uint32_t)v;
        }
    }
    pressed = 0;
    waiting = 1;
    const uint64_t start = hsm_port_millis();
    while (!pressed && !interrupted && hsm_port_millis() - start < timeout_ms) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL); /* a signal cuts it short (EINTR): checked at once */
    }
    waiting = 0;
    int ok = pressed != 0;
    pressed = 0;
    return ok;
}

uint8_t hsm_port_platform(void)
{
    return 0x03;
}

bool hsm_port_wallclock(int64_t *unix_seconds)
{
    *unix_seconds = (int64_t)time(NULL);
    return true;
}

uint32_t hsm_port_firmware_size(void)
{
    return 0;
}

void hsm_port_reboot(bool bootsel)
{
    (void)bootsel; /* the core resets the card state; the process keeps running */
}
