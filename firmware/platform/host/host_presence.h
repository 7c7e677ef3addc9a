/*
 * host_presence.h — the emulator's button (presence.c): SIGUSR1 presses it.
 */
#ifndef HSM_HOST_PRESENCE_H
#define HSM_HOST_PRESENCE_H

/* Installs the SIGUSR1 handler; call once at start-up, before the card runs. */
void hsm_host_presence_init(void);
/* Ends a running wait unconfirmed (async-signal-safe; for SIGTERM/SIGINT). */
void hsm_host_presence_interrupt(void);

#endif
