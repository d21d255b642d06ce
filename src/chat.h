/*
 * chat.h - the chat protocol (PROTOCOL, chatd(8)) and its rooms.
 *
 * Protocols built on chat (websocket.c) use the exported functions: a
 * connection joins its listener's room, hands in complete lines, leaves.
 */
#ifndef CHATD_CHAT_H
#define CHATD_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct conn;

extern const struct proto_ops chat_ops;

/* Sends the motd, announces c and makes it a member of its room. */
void chat_join(struct conn *);
/* One complete line from c (without CR/LF): a command or a message. */
void chat_line(struct conn *, const char *line, size_t len);
/* Takes c out of its room (idempotent). */
void chat_leave(struct conn *);

/* Every room's figures (metrics-figures.c): O(rooms). */
typedef void chat_room_fn(void *arg, const char *room, unsigned members,
    uint64_t deliveries);
void chat_rooms_each(chat_room_fn *, void *arg);

#endif
