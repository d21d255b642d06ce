/*
 * chat.h - the chat protocol (PROTOCOL, chatd(8)) and its rooms.
 */
#ifndef CHATD_CHAT_H
#define CHATD_CHAT_H

#include "listener.h"

extern const struct proto_ops chat_ops;

/* Finds or creates the room a chat listener serves. */
struct room *chat_room_get(struct server *, const char *name);
/* Drops a room reference held by a listener. */
void chat_room_put(struct server *, struct room *);

#endif
