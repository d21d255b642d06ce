/*
 * relay.h - how chat rooms reach beyond this process (SPEC 18).
 *
 * The server registers one relay with chat (chat_set_relay) when a
 * cluster is configured.  Chat calls it for every local event; it never
 * learns what is behind it.  Remote events come back through chat's
 * exported chat_remote_event() and chat_nick_claimed() (chat.h).
 */
#ifndef CHATD_RELAY_H
#define CHATD_RELAY_H

#include <stdbool.h>
#include <stddef.h>

enum relay_kind {
	RELAY_MESSAGE = 1,	/* "NAME: TEXT" */
	RELAY_ME,		/* "* NAME TEXT" */
	RELAY_JOIN,		/* NAME joined */
	RELAY_LEAVE,		/* NAME left */
	RELAY_NICK,		/* NAME (old) is now known as TEXT (new) */
};

typedef void relay_member_fn(void *arg, const char *name, size_t len);

struct relay {
	void *arg;
	/* A room came to exist on this node, or went. */
	void (*room_open)(void *arg, const char *room);
	void (*room_close)(void *arg, const char *room);
	/* One local event.  announce: the notice was shown here, show it
	 * there (join/leave/nick). */
	void (*publish)(void *arg, const char *room, enum relay_kind, bool announce,
	    const char *name, size_t namelen, const char *text, size_t textlen);
	/* Claims newname for a member now called oldname.  0: the answer
	 * comes later through chat_nick_claimed(token, granted), always
	 * exactly once; -1: no cluster-wide answer now, decide locally. */
	int (*nick_claim)(void *arg, const char *room, const char *oldname,
	    const char *newname, void *token);
	/* Calls fn for each member of room on the other nodes. */
	void (*members)(void *arg, const char *room, relay_member_fn *fn, void *fnarg);
};

#endif
