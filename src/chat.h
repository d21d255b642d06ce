/*
 * chat.h - the chat protocol (PROTOCOL, chatd(8)) and its rooms.
 *
 * Protocols built on chat (websocket.c) use the exported functions: a
 * connection joins its listener's room, hands in complete lines, leaves.
 */
#ifndef CHATD_CHAT_H
#define CHATD_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "relay.h"

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

/* Rooms beyond this process (SPEC 18): the server registers the
 * cluster's relay (NULL: none); every room that exists is opened on it. */
void chat_set_relay(const struct relay *);
/* One event of another node, for the local members of room. */
void chat_remote_event(const char *room, enum relay_kind, bool announce,
    const char *node, const char *name, size_t namelen,
    const char *text, size_t textlen);
/* The cluster's answer to relay->nick_claim (token as given). */
void chat_nick_claimed(void *token, bool granted);

#endif
