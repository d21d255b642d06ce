/*
 * chat.c - the chat protocol: rooms, names, commands, notices.
 *
 * Every line is formatted once into a shared msg and queued to each member
 * of the room; the per-recipient cost is a pointer in its queue.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat.h"
#include "conn.h"
#include "log.h"

#define NICK_MAX 32
#define SLICE_LINES 64		/* lines of one client per turn of the loop */
#define MAX_CLAIMS 1024		/* nickname claims awaiting the cluster */
/* A claiming client's input waits for the answer (its next lines go
 * out under the name it asked for, or after the refusal); the cluster
 * answers within its command timeout, and this is a backstop. */
#define CLAIM_HOLD_MS 10000

struct room {
	struct room *next;
	char *name;
	unsigned refs;			/* listeners and members */
	struct conn *first, *last;	/* members in join order */
	unsigned nmembers;
	uint64_t deliveries;		/* messages queued to members */
};

/* Every room of the daemon; listeners naming one room share it. */
static struct room *rooms;

/* The cluster (SPEC 18), or NULL: rooms are this process's alone. */
static const struct relay *relay;

/* A /nick waiting for the cluster's answer; c is NULL once it left. */
struct claim {
	struct claim *next;
	struct conn *c;
	struct room *room;
	uint8_t len;
	char name[NICK_MAX + 1];
};
static struct claim *claims;
static unsigned nclaims;

/* ---- rooms --------------------------------------------------------- */

static struct room *room_get(const char *name)
{
	struct room *r;

	for (r = rooms; r != NULL; r = r->next)
		if (strcmp(r->name, name) == 0) {
			r->refs++;
			return r;
		}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->name = strdup(name)) == NULL) {
		free(r);
		return NULL;
	}
	r->refs = 1;
	r->next = rooms;
	rooms = r;
	if (relay != NULL)
		relay->room_open(relay->arg, r->name);
	return r;
}

static void room_put(struct room *r)
{
	struct room **pp;

	if (--r->refs > 0)
		return;
	for (pp = &rooms; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (relay != NULL)
		relay->room_close(relay->arg, r->name);
	free(r->name);
	free(r);
}

static void room_broadcast(struct room *r, struct msg *m)
{
	/* One addition per line, not one per member. */
	r->deliveries += r->nmembers;
	for (struct conn *c = r->first; c != NULL; c = c->room_next)
		conn_send(c, m);
}

/* Queues m to everyone in c's room and drops the creator's reference. */
static void to_room(struct conn *c, struct msg *m)
{
	if (m == NULL)
		return;
	room_broadcast(c->room, m);
	msg_unref(m);
}

static void to_client(struct conn *c, struct msg *m)
{
	if (m == NULL)
		return;
	conn_send(c, m);
	msg_unref(m);
}

#define notice(c, ...) to_client((c), msg_notice(__VA_ARGS__))

/* One local event for the other nodes: one publish, whatever the room. */
static void publish(const char *room, enum relay_kind kind, bool announce,
    const char *name, size_t namelen, const char *text, size_t textlen)
{
	if (relay != NULL)
		relay->publish(relay->arg, room, kind, announce, name, namelen, text, textlen);
}

/* An event as the members see it, the same whether it happened here or
 * on another node: "NAME: TEXT", "* NAME TEXT" or a notice. */
static struct msg *event_msg(enum relay_kind kind, const char *name, size_t namelen,
    const char *text, size_t textlen)
{
	int nl = (int)namelen, tl = (int)textlen;

	switch (kind) {
	case RELAY_MESSAGE:
		return msg_build((struct iovec[]){ { (void *)name, namelen },
		    { ": ", 2 }, { (void *)text, textlen } }, 3);
	case RELAY_ME:
		return msg_build((struct iovec[]){ { "* ", 2 }, { (void *)name, namelen },
		    { " ", 1 }, { (void *)text, textlen } }, 4);
	case RELAY_JOIN:
		return msg_notice("%.*s joined", nl, name);
	case RELAY_LEAVE:
		return msg_notice("%.*s left", nl, name);
	case RELAY_NICK:
		return msg_notice("%.*s is now known as %.*s", nl, name, tl, text);
	}
	return NULL;
}

static bool has_line_break(const char *s, size_t n)
{
	return n > 0 && (memchr(s, '\n', n) != NULL || memchr(s, '\r', n) != NULL);
}

void chat_set_relay(const struct relay *r)
{
	relay = r;
	if (relay != NULL)
		for (const struct room *o = rooms; o != NULL; o = o->next)
			relay->room_open(relay->arg, o->name);
}

static struct room *room_find(const char *name)
{
	for (struct room *r = rooms; r != NULL; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* Another node's line or notice, to this node's members of the room.
 * Its names and text went through that node's framer; a line break
 * here would be a forged line, so such an event is dropped. */
void chat_remote_event(const char *room, enum relay_kind kind, bool announce,
    const char *node, const char *name, size_t namelen,
    const char *text, size_t textlen)
{
	struct room *r = room_find(room);
	struct msg *m;

	(void)node;
	if (r == NULL || r->first == NULL || namelen > 255 || textlen > 1u << 20 ||
	    has_line_break(name, namelen) || has_line_break(text, textlen))
		return;
	/* Notices only where the other node showed them (announce). */
	if (kind != RELAY_MESSAGE && kind != RELAY_ME && !announce)
		return;
	if ((m = event_msg(kind, name, namelen, text, textlen)) == NULL)
		return;
	room_broadcast(r, m);
	msg_unref(m);
}

void chat_rooms_each(chat_room_fn *fn, void *arg)
{
	for (const struct room *r = rooms; r != NULL; r = r->next)
		fn(arg, r->name, r->nmembers, r->deliveries);
}

/* ---- joining and leaving ------------------------------------------- */

/* ---- per listener: the room ---------------------------------------- */

static int chat_attach(struct endpoint *ep, const struct listener_conf *conf)
{
	ep->proto_state = room_get(conf->room);
	if (ep->proto_state == NULL) {
		log_warnx("%s: out of memory", conf->name);
		return -1;
	}
	return 0;
}

static void chat_detach(struct endpoint *ep)
{
	room_put(ep->proto_state);
	ep->proto_state = NULL;
}

/* Clients already connected stay in the room they joined. */
static int chat_update(struct endpoint *ep, const struct listener_conf *conf)
{
	struct room *old = ep->proto_state, *r;

	if (strcmp(old->name, conf->room) == 0)
		return 0;
	r = room_get(conf->room);
	if (r == NULL) {
		log_warnx("%s: out of memory; keeping room %s", conf->name, old->name);
		return -1;
	}
	room_put(old);
	ep->proto_state = r;
	return 0;
}

static void send_motd(struct conn *c)
{
	const char *p = c->ep->conf->motd;

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		to_client(c, msg_build((struct iovec[]){ { "* ", 2 },
		    { (void *)p, n } }, 2));
		p = nl ? nl + 1 : NULL;
	}
}

void chat_join(struct conn *c)
{
	struct room *r = c->ep->proto_state;

	send_motd(c);
	publish(r->name, RELAY_JOIN, c->ep->conf->announce, c->name, c->namelen, NULL, 0);
	if (c->ep->conf->announce) {
		struct msg *m = event_msg(RELAY_JOIN, c->name, c->namelen, NULL, 0);

		if (m != NULL) {
			room_broadcast(r, m);
			msg_unref(m);
		}
	}
	/* The newcomer joins after the notice: it does not get its own. */
	r->refs++;
	c->room = r;
	c->room_prev = r->last;
	c->room_next = NULL;
	if (r->last != NULL)
		r->last->room_next = c;
	else
		r->first = c;
	r->last = c;
	r->nmembers++;
	c->flags |= CONN_JOINED;
}

static void chat_open(struct conn *c)
{
	chat_join(c);
}

/* Takes c out of its room, telling the others when the listener says so. */
void chat_leave(struct conn *c)
{
	struct room *r = c->room;

	if (!(c->flags & CONN_JOINED))
		return;
	c->flags &= ~CONN_JOINED;
	if (c->room_prev != NULL)
		c->room_prev->room_next = c->room_next;
	else
		r->first = c->room_next;
	if (c->room_next != NULL)
		c->room_next->room_prev = c->room_prev;
	else
		r->last = c->room_prev;
	c->room_prev = c->room_next = NULL;
	r->nmembers--;
	/* Its pending /nick, if any, is answered to nobody. */
	for (struct claim *k = claims; k != NULL; k = k->next)
		if (k->c == c)
			k->c = NULL;
	/* The other nodes hear of it even at shutdown (their members did
	 * not all leave at once). */
	publish(r->name, RELAY_LEAVE, c->ep->conf->announce, c->name, c->namelen, NULL, 0);
	/* At shutdown everyone leaves at once: N clients would get N-1
	 * notices each before the one that matters. */
	if (c->ep->conf->announce && !c->ep->pool->stopping)
		to_room(c, event_msg(RELAY_LEAVE, c->name, c->namelen, NULL, 0));
	room_put(r);
	c->room = NULL;
}

static void chat_closing(struct conn *c)
{
	chat_leave(c);
}

static void chat_farewell(struct conn *c, const char *text)
{
	notice(c, "%s", text);
}

/* ---- commands ------------------------------------------------------ */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool valid_nick(const char *s, size_t n)
{
	if (n == 0 || n > NICK_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

struct taken {
	const char *s;
	size_t n;
	bool found;
};

static void remote_taken(void *arg, const char *name, size_t len)
{
	struct taken *t = arg;

	if (len == t->n && strncasecmp(name, t->s, len) == 0)
		t->found = true;
}

/* Taken by another member here, by a claim under way here, or by a
 * member of another node as far as this node knows (the cluster's
 * claim is the word that counts). */
static bool nick_taken(const struct conn *self, const char *s, size_t n)
{
	struct taken t = { s, n, false };

	for (const struct conn *o = self->room->first; o != NULL; o = o->room_next)
		if (o != self && o->namelen == n && strncasecmp(o->name, s, n) == 0)
			return true;
	for (const struct claim *k = claims; k != NULL; k = k->next)
		if (k->c != NULL && k->c != self && k->room == self->room &&
		    k->len == n && strncasecmp(k->name, s, n) == 0)
			return true;
	if (relay != NULL)
		relay->members(relay->arg, self->room->name, remote_taken, &t);
	return t.found;
}

static bool claim_pending(const struct conn *c)
{
	for (const struct claim *k = claims; k != NULL; k = k->next)
		if (k->c == c)
			return true;
	return false;
}

static void rename_member(struct conn *c, const char *arg, size_t n)
{
	char old[CONN_NAME_MAX];

	memcpy(old, c->name, c->namelen + 1u);
	memcpy(c->name, arg, n);
	c->name[n] = '\0';
	c->namelen = (uint8_t)n;
	/* Nicknames come from strangers: debug only, escaped (SPEC 9). */
	if (log_get_level() >= LOG_DEBUG) {
		char e1[128], e2[128];

		log_debug("%s: %s is now known as %s", c->ep->conf->name,
		    log_escape(old, strlen(old), e1, sizeof(e1)),
		    log_escape(c->name, c->namelen, e2, sizeof(e2)));
	}
	publish(c->room->name, RELAY_NICK, true, old, strlen(old), c->name, c->namelen);
	to_room(c, event_msg(RELAY_NICK, old, strlen(old), c->name, c->namelen));
}

void chat_nick_claimed(void *token, bool granted)
{
	struct claim *k = token, **pp;

	for (pp = &claims; *pp != NULL && *pp != k; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return;
	*pp = k->next;
	nclaims--;
	if (k->c != NULL && (k->c->flags & CONN_JOINED)) {
		if (granted)
			rename_member(k->c, k->name, k->len);
		else
			notice(k->c, "error: nickname in use");
		if (k->c->flags & CONN_HELD)
			conn_hold_input(k->c, 0);	/* its next lines now */
	}
	free(k);
}

static void cmd_nick(struct conn *c, const char *arg, size_t n)
{
	struct claim *k;
	char name[NICK_MAX + 1];

	if (n == 0) {
		notice(c, "error: usage: /nick NAME");
		return;
	}
	if (!valid_nick(arg, n)) {
		notice(c, "error: invalid nickname");
		return;
	}
	if (nick_taken(c, arg, n)) {
		notice(c, "error: nickname in use");
		return;
	}
	if (relay == NULL) {
		rename_member(c, arg, n);
		return;
	}
	/* Unique across the cluster: an atomic claim in Redis, answered
	 * later (chat_nick_claimed); meanwhile the name is held here. */
	if (claim_pending(c) || nclaims >= MAX_CLAIMS) {
		notice(c, "error: nickname change under way, try again");
		return;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		notice(c, "error: out of memory");
		return;
	}
	k->c = c;
	k->room = c->room;
	k->len = (uint8_t)n;
	memcpy(k->name, arg, n);
	memcpy(name, arg, n);
	name[n] = '\0';
	k->next = claims;
	claims = k;
	nclaims++;
	if (relay->nick_claim(relay->arg, c->room->name, c->name, name, k) == -1) {
		/* No cluster-wide answer now (Redis away): decided here. */
		chat_nick_claimed(k, true);
		return;
	}
	conn_hold_input(c, CLAIM_HOLD_MS);
}

/* The /who line being built: counted first, then written. */
struct who {
	char *p;	/* NULL: counting */
	size_t len, i;
};

static void who_add(void *arg, const char *name, size_t n)
{
	struct who *w = arg;

	if (w->p != NULL) {
		if (w->i > 0) {
			memcpy(w->p, ", ", 2);
			w->p += 2;
		}
		memcpy(w->p, name, n);
		w->p += n;
	} else
		w->len += n + 2u;
	w->i++;
}

/* Every member of c's room: here in join order, then the other nodes'. */
static void who_each(const struct conn *c, struct who *w)
{
	for (const struct conn *o = c->room->first; o != NULL; o = o->room_next)
		who_add(w, o->name, o->namelen);
	if (relay != NULL)
		relay->members(relay->arg, c->room->name, who_add, w);
}

static void cmd_who(struct conn *c, const char *arg, size_t n)
{
	struct who w = { NULL, 2 + 7, 0 };	/* "* users: " minus the first ", " */
	struct msg *m;
	char *end;

	(void)arg;
	(void)n;
	who_each(c, &w);
	m = msg_new(w.len + 2);
	if (m == NULL)
		return;
	end = m->data + w.len + 2;
	w = (struct who){ m->data, 0, 0 };
	memcpy(w.p, "* users: ", 9);
	w.p += 9;
	who_each(c, &w);
	/* The cache cannot change between the two walks (no loop turn). */
	if (w.p + 2 > end) {
		msg_unref(m);
		return;
	}
	memcpy(w.p, "\r\n", 2);
	m->len = (uint32_t)(w.p + 2 - m->data);
	to_client(c, m);
}

static void cmd_me(struct conn *c, const char *arg, size_t n)
{
	if (n == 0) {
		notice(c, "error: usage: /me TEXT");
		return;
	}
	publish(c->room->name, RELAY_ME, false, c->name, c->namelen, arg, n);
	to_room(c, event_msg(RELAY_ME, c->name, c->namelen, arg, n));
}

static void cmd_help(struct conn *c, const char *arg, size_t n)
{
	static const char *const lines[] = {
		"commands:",
		"/nick NAME   take a nickname (1-32 of A-Z a-z 0-9 _ . -)",
		"/who         list the people in this room",
		"/me TEXT     say TEXT as an action",
		"/quit        leave (also /exit)",
		"/help        this text",
	};

	(void)arg;
	(void)n;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		notice(c, "%s", lines[i]);
}

static void cmd_quit(struct conn *c, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	notice(c, "bye");
	chat_leave(c);
	conn_close_after_flush(c, CLOSE_CLIENT, "quit");
}

static const struct command {
	const char *name;
	void (*run)(struct conn *, const char *arg, size_t n);
} commands[] = {
	{ "nick", cmd_nick },
	{ "who", cmd_who },
	{ "me", cmd_me },
	{ "help", cmd_help },
	{ "quit", cmd_quit },
	{ "exit", cmd_quit },
};

/* line starts with '/': finds the command by its name (up to the first
 * blank, ASCII case ignored) and passes the trimmed rest. */
static void run_command(struct conn *c, const char *line, size_t n)
{
	size_t name_len = 0, a = 0;

	while (1 + name_len < n && !is_blank(line[1 + name_len]))
		name_len++;
	a = 1 + name_len;
	while (a < n && is_blank(line[a]))
		a++;
	while (n > a && is_blank(line[n - 1]))
		n--;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].name) == name_len &&
		    strncasecmp(commands[i].name, line + 1, name_len) == 0) {
			commands[i].run(c, line + a, n - a);
			return;
		}
	notice(c, "error: unknown command");
}

void chat_line(struct conn *c, const char *line, size_t n)
{
	if (n == 0)
		return;
	c->ep->stats.messages++;	/* every line a client sent, commands too */
	if (log_get_level() >= LOG_DEBUG) {
		char esc[256];

		log_debug("%s: %s says %s", c->ep->conf->name, c->name,
		    log_escape(line, n, esc, sizeof(esc)));
	}
	if (line[0] == '/') {
		run_command(c, line, n);
		return;
	}
	publish(c->room->name, RELAY_MESSAGE, false, c->name, c->namelen, line, n);
	to_room(c, event_msg(RELAY_MESSAGE, c->name, c->namelen, line, n));
}

static bool takes_input(const struct conn *c)
{
	return !(c->flags & (CONN_CLOSED | CONN_CLOSING | CONN_DOOMED));
}

/* ---- flood control (SPEC 19) --------------------------------------- */

/* A token bucket kept as one number (GCRA): the theoretical arrival
 * time of the next line.  Returns 0 when a line may go now (and takes
 * its token), else the microseconds until it may. */
static int64_t bucket_wait_us(struct conn *c, int64_t now_us)
{
	const struct listener_conf *conf = c->ep->conf;
	int64_t per, tat, limit;

	if (conf->rate <= 0)
		return 0;
	per = (int64_t)(1e6 / conf->rate);
	if (per < 1)
		per = 1;
	tat = (c->flood_tat > now_us ? c->flood_tat : now_us) + per;
	limit = (int64_t)conf->burst * per;
	if (tat - now_us > limit)
		return tat - now_us - limit;
	c->flood_tat = tat;
	return 0;
}

/* Over its rate: stop reading until a token is back; TCP slows the
 * flooder down.  Returns false when it has been held too long. */
static bool hold_flooder(struct conn *c, int64_t wait_us)
{
	int64_t now = selector_now(c->ep->pool->sel);
	double limit = c->ep->conf->flood_timeout;

	if (c->held_since == 0) {
		c->held_since = now;
		c->ep->stats.flood_holds++;
	} else if (limit > 0 && (double)(now - c->held_since) > limit * 1000.0) {
		notice(c, "error: flooding");
		chat_leave(c);
		conn_close_after_flush(c, CLOSE_FLOOD, "flooding");
		return false;
	}
	conn_hold_input(c, (wait_us + 999) / 1000);
	return true;
}

/* Frames data and handles lines while the client's bucket and its slice
 * of this turn allow; returns the bytes not handled yet.  *held is set
 * when input is held back with complete lines possibly left. */
static size_t handle_lines(struct conn *c, const char *data, size_t len, bool limited,
    bool *held)
{
	int64_t now_us = selector_now(c->ep->pool->sel) * 1000;
	unsigned lines = 0;

	*held = false;
	while (len > 0 && takes_input(c)) {
		const char *line;
		size_t linelen, used;
		enum frame_result r;
		int64_t wait;

		if (limited && lines == SLICE_LINES) {
			conn_hold_input(c, 0);	/* the others get their turn first */
			*held = true;
			break;
		}
		if (limited && (wait = bucket_wait_us(c, now_us)) > 0) {
			*held = hold_flooder(c, wait);
			break;
		}
		r = framer_next(&c->framer, data, len, &line, &linelen, &used);
		if (r == FRAME_LINE) {
			chat_line(c, line, linelen);
			lines++;
			if (limited && (c->flags & CONN_HELD)) {
				/* A /nick waits for the cluster (cmd_nick); not
				 * at EOF, where the rest is handled at once. */
				len -= used;
				*held = true;
				break;
			}
		} else if (r == FRAME_TOOLONG)
			notice(c, "error: line too long");
		else if (limited && c->ep->conf->rate > 0)
			c->flood_tat -= (int64_t)(1e6 / c->ep->conf->rate);	/* no line: token back */
		data += used;
		len -= used;
		if (r == FRAME_NEED_MORE)
			break;
	}
	if (!*held)
		c->held_since = 0;	/* a break: it is reading again */
	return takes_input(c) ? len : 0;
}

/* Handles what is buffered in c->in (held input, a partial line). */
static void handle_buffered(struct conn *c, bool limited)
{
	bool held;
	size_t rest = handle_lines(c, buffer_data(&c->in), buffer_len(&c->in), limited, &held);

	if (c->flags & CONN_CLOSED)
		return;
	buffer_consume(&c->in, buffer_len(&c->in) - rest);
}

static void chat_input(struct conn *c, const char *data, size_t len)
{
	size_t rest;
	bool held;

	/* A reload may have changed the limit; it applies from now on. */
	c->framer.max_line = (uint32_t)c->ep->conf->max_line;

	if (buffer_len(&c->in) == 0 && !(c->flags & CONN_HELD)) {
		/* Common case: whole lines straight from the read buffer. */
		rest = handle_lines(c, data, len, true, &held);
		if (rest > 0 && buffer_append(&c->in, data + len - rest, rest) == -1)
			conn_close(c, CLOSE_ERROR, "out of memory");
		return;
	}
	if (buffer_append(&c->in, data, len) == -1) {
		conn_close(c, CLOSE_ERROR, "out of memory");
		return;
	}
	if (!(c->flags & CONN_HELD))
		handle_buffered(c, true);
}

static void chat_resume(struct conn *c)
{
	handle_buffered(c, true);
}

static void chat_eof(struct conn *c)
{
	const char *line;
	size_t n;

	/* Nothing it sent is lost: what was held back is handled now. */
	if (takes_input(c))
		handle_buffered(c, false);
	if (takes_input(c) &&
	    framer_finish(&c->framer, buffer_data(&c->in), buffer_len(&c->in),
	    &line, &n) == FRAME_LINE)
		chat_line(c, line, n);
	buffer_free(&c->in);
	chat_leave(c);
	conn_close_after_flush(c, CLOSE_CLIENT, "client closed");
}

const struct proto_ops chat_ops = {
	.name = "chat",
	.full_notice = "* error: server full\r\n",
	.attach = chat_attach,
	.detach = chat_detach,
	.update = chat_update,
	.datagram = NULL,
	.open = chat_open,
	.input = chat_input,
	.resume = chat_resume,
	.eof = chat_eof,
	.closing = chat_closing,
	.farewell = chat_farewell,
};
