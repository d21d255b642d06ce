/*
 * cluster-codec.c - encoding and strict decoding of cross-node events.
 * The decoder trusts nothing: a payload from another chatd version or
 * from anyone who can PUBLISH is checked field by field.
 */
#include "autoconfig.h"

#include <string.h>

#include "cluster-codec.h"

size_t cev_size(const struct cluster_event *ev)
{
	if (ev->nodelen == 0 || ev->nodelen > 255 || ev->namelen == 0 ||
	    ev->namelen > 255 || ev->textlen > CEV_TEXT_MAX ||
	    ev->kind < CEV_MESSAGE || ev->kind > CEV_KIND_MAX)
		return 0;
	return CEV_HEADER + ev->nodelen + ev->namelen + ev->textlen;
}

size_t cev_encode(const struct cluster_event *ev, char *buf)
{
	unsigned char *p = (unsigned char *)buf;
	uint32_t t = (uint32_t)ev->textlen;

	*p++ = CEV_VERSION;
	*p++ = ev->kind;
	*p++ = ev->flags;
	*p++ = (unsigned char)ev->nodelen;
	memcpy(p, ev->node, ev->nodelen);
	p += ev->nodelen;
	*p++ = (unsigned char)ev->namelen;
	memcpy(p, ev->name, ev->namelen);
	p += ev->namelen;
	*p++ = (unsigned char)(t >> 24);
	*p++ = (unsigned char)(t >> 16);
	*p++ = (unsigned char)(t >> 8);
	*p++ = (unsigned char)t;
	if (ev->textlen > 0)
		memcpy(p, ev->text, ev->textlen);
	p += ev->textlen;
	return (size_t)(p - (unsigned char *)buf);
}

int cev_decode(const char *buf, size_t len, struct cluster_event *ev)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	uint32_t t;

	if (len < CEV_HEADER || p[0] != CEV_VERSION)
		return -1;
	ev->kind = p[1];
	ev->flags = p[2];
	if (ev->kind < CEV_MESSAGE || ev->kind > CEV_KIND_MAX)
		return -1;
	p += 3;
	ev->nodelen = *p++;
	if (ev->nodelen == 0 || (size_t)(end - p) < ev->nodelen + 1)
		return -1;
	ev->node = (const char *)p;
	p += ev->nodelen;
	ev->namelen = *p++;
	if (ev->namelen == 0 || (size_t)(end - p) < ev->namelen + 4)
		return -1;
	ev->name = (const char *)p;
	p += ev->namelen;
	t = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	p += 4;
	if (t > CEV_TEXT_MAX || (size_t)(end - p) != t)
		return -1;
	ev->text = (const char *)p;
	ev->textlen = t;
	return 0;
}
