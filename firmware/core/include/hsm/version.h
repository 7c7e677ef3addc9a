/*
 * version.h — the application version reported in the FCP (tag 85, last two bytes) and, later,
 * by the rescue applet. 6.6 is the Pico HSM protocol level this firmware answers to, so Pico HSM
 * clients that gate features on the version treat it as a peer.
 */
#ifndef HSM_VERSION_H
#define HSM_VERSION_H

#define HSM_APP_VERSION_MAJOR 6
#define HSM_APP_VERSION_MINOR 6

#endif
