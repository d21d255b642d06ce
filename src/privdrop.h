/*
 * privdrop.h - giving up root after the sockets are bound.
 */
#ifndef CHATD_PRIVDROP_H
#define CHATD_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

struct privids {
	uid_t uid;
	gid_t gid;
	bool change_uid;	/* user set, not just group */
	bool needed;		/* running as root with user or group set */
};

/* Looks up user and group (default: the user's primary group).  Not
 * needed unless running as root; logs a warning for root without user.
 * Returns 0, or -1 after logging. */
int privdrop_resolve(const char *user, const char *group, struct privids *);
/* Drops to ids when needed.  Returns 0, or -1 after logging; the caller
 * must then exit rather than keep running as root. */
int privdrop_apply(const struct privids *);

#endif
