/*
 * privdrop.h - giving up root after the sockets are bound.
 */
#ifndef CHATD_PRIVDROP_H
#define CHATD_PRIVDROP_H

/* Drops to user (and group, default: the user's primary group) when
 * running as root.  Returns 0, or -1 after logging; the caller must then
 * exit rather than keep running as root. */
int privdrop(const char *user, const char *group);

#endif
