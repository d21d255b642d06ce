/*
 * activation.h - sockets passed in by a service manager (systemd's
 * LISTEN_FDS protocol, launchd's launch_activate_socket).  The rest of
 * the daemon only asks: is there an inherited socket for this listener?
 */
#ifndef CHATD_ACTIVATION_H
#define CHATD_ACTIVATION_H

#include "config.h"

#define ACTIVATION_NONE (-1)	/* nothing passed in: bind it yourself */
#define ACTIVATION_MISMATCH (-2)	/* passed in, but of the wrong kind (logged) */

/* Gathers inherited descriptors once, at start-up.  Returns 0 or -1. */
int activation_collect(void);
/* The inherited fd for lc: matched by name, else by local address. */
int activation_take(const struct listener_conf *lc);
/* After activation_take gave lc a socket: the next one passed under the
 * same name (a launchd Sockets key holding the IPv4 and the IPv6 socket,
 * a socket unit with several Listen lines), ACTIVATION_MISMATCH, or
 * ACTIVATION_NONE when there are no more.  Each must be served too. */
int activation_take_more(const struct listener_conf *lc);
/* Logs and closes every inherited fd no listener took. */
void activation_close_unused(void);
/* "systemd", "launchd", "systemd launchd" or "none": build features. */
const char *activation_features(void);

#endif
