/*
 * cluster-codec.h - the payload of one cross-node event (SPEC 18).
 *
 * Binary-safe and compact, every field with its length:
 *   version (1 byte, 1), kind (1), flags (1),
 *   node length (1) + node, name length (1) + name,
 *   text length (4, big-endian) + text.
 * No library dependency: the unit test and the fuzzer use it alone.
 */
#ifndef CHATD_CLUSTER_CODEC_H
#define CHATD_CLUSTER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CEV_VERSION 1
#define CEV_HEADER 9		/* the fixed bytes */
#define CEV_TEXT_MAX (16u << 20)

#define CEV_ANNOUNCE 0x1	/* flags: show join/leave/nick notices */

/* Same values as enum relay_kind (relay.h). */
enum cev_kind { CEV_MESSAGE = 1, CEV_ME, CEV_JOIN, CEV_LEAVE, CEV_NICK, CEV_KIND_MAX = CEV_NICK };

struct cluster_event {
	uint8_t kind;
	uint8_t flags;
	const char *node;	/* 1-255 bytes */
	size_t nodelen;
	const char *name;	/* sender; NICK: the old name; 1-255 bytes */
	size_t namelen;
	const char *text;	/* MESSAGE/ME: the text; NICK: the new name */
	size_t textlen;
};

/* Bytes cev_encode writes; 0 when a field is out of range. */
size_t cev_size(const struct cluster_event *);
/* Writes cev_size(ev) bytes to buf. */
size_t cev_encode(const struct cluster_event *, char *buf);
/* Points ev's fields into buf; 0, or -1 for anything malformed. */
int cev_decode(const char *buf, size_t len, struct cluster_event *ev);

#endif
