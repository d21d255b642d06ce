/*
 * cluster.c - rooms across nodes over Redis (SPEC 18).
 *
 * Local events: chat calls the relay; each becomes one PUBLISH (plus a
 * presence update for join/leave/nick).  Remote events: the subscribe
 * link delivers them to the sink (chat), skipping this node's own.
 * Presence: PREFIX:presence:ROOM is a sorted set of "NODE\nNAME" scored
 * by expiry in ms since the epoch; a heartbeat every presence_ttl/4
 * re-adds this node's members (valid 3/4 ttl, so a dead node's members
 * are gone within presence_ttl), drops expired entries and reads the
 * rest into a local cache that /who uses without waiting for Redis.
 * The cache is also kept current by join/leave/nick events; a read
 * only overrides entries older than the query (an event seen in the
 * same millisecond as the query wins: it may have crossed it).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "cluster.h"
#include "cluster-codec.h"
#include "log.h"
#include "metrics-figures.h"
#include "redis-loop.h"
#include "selector.h"

#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 3000
#define MAX_PENDING 8192		/* commands awaiting a reply */
#define MAX_PENDING_BYTES (4u << 20)	/* PUBLISH payload bytes awaiting one */
#define PASSWORD_MAX 512

/* A member of a room on another node, as this node last heard. */
struct rmember {
	struct rmember *next;
	int64_t stamp;		/* monotonic ms of what we last learnt */
	unsigned gen;		/* refresh generation that saw it */
	bool present;		/* false: a tombstone (left) */
	bool seen_once;		/* in one refresh, not yet in the next */
	size_t nodelen, namelen;
	char key[];		/* "NODE\nNAME" */
};

struct croom {
	struct croom *next;
	char *name;
	char *channel;		/* PREFIX:room:NAME */
	char *zkey;		/* PREFIX:presence:NAME */
	char **local;		/* names of this node's members */
	size_t nlocal, cap;
	struct rmember *remote;
	unsigned gen;
	bool synced;		/* first presence read done: announce changes */
};

struct cluster {
	struct selector *sel;
	char *redis, *node, *prefix, *password, *password_spec;
	double ttl;
	int64_t ttl_ms;
	struct rlink *pub, *sub;
	struct croom *rooms;
	struct sel_timer *beat;
	const struct cluster_sink *sink;
	struct relay relay;
	struct cluster_stats st;
	size_t pending_bytes;
	int64_t grace_until;	/* monotonic ms: no sweep before (see pub_up) */
	uint64_t outage_dropped;
	bool outage_logged, full_logged, script_logged;
	bool was_up;		/* the publish link has been up before */
};

static const char claim_script[] =
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do\n"
    "  if m ~= ARGV[3] then\n"
    "    local i = string.find(m, '\\n', 1, true)\n"
    "    if i and string.lower(string.sub(m, i + 1)) == ARGV[5] then return 0 end\n"
    "  end\n"
    "end\n"
    "redis.call('ZREM', KEYS[1], ARGV[3])\n"
    "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])\n"
    "return 1\n";

const char *cluster_library_version(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return "hiredis " STR(HIREDIS_MAJOR) "." STR(HIREDIS_MINOR) "." STR(HIREDIS_PATCH);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *concat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* "NODE\nNAME" in buf (at least 512 bytes); its length. */
static size_t member_key(char *buf, const char *node, const char *name, size_t namelen)
{
	size_t nl = strlen(node);

	if (namelen > 255)
		namelen = 255;
	memcpy(buf, node, nl);
	buf[nl] = '\n';
	memcpy(buf + nl + 1, name, namelen);
	return nl + 1 + namelen;
}

/* ---- rooms --------------------------------------------------------- */

static struct croom *room_find(struct cluster *cl, const char *name)
{
	for (struct croom *r = cl->rooms; r != NULL; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

static void room_free(struct croom *r)
{
	while (r->remote != NULL) {
		struct rmember *m = r->remote;

		r->remote = m->next;
		free(m);
	}
	for (size_t i = 0; i < r->nlocal; i++)
		free(r->local[i]);
	free(r->local);
	free(r->name);
	free(r->channel);
	free(r->zkey);
	free(r);
}

static int local_add(struct croom *r, const char *name, size_t len)
{
	char *s;

	if (r->nlocal == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		char **p = realloc(r->local, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		r->local = p;
		r->cap = cap;
	}
	if ((s = strndup(name, len)) == NULL)
		return -1;
	r->local[r->nlocal++] = s;
	return 0;
}

static ssize_t local_find(const struct croom *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->nlocal; i++)
		if (strlen(r->local[i]) == len && memcmp(r->local[i], name, len) == 0)
			return (ssize_t)i;
	return -1;
}

static void local_remove(struct croom *r, const char *name, size_t len)
{
	ssize_t i = local_find(r, name, len);

	if (i < 0)
		return;
	free(r->local[i]);
	r->local[i] = r->local[--r->nlocal];
}

static struct rmember *remote_find(struct croom *r, const char *key, size_t keylen)
{
	for (struct rmember *m = r->remote; m != NULL; m = m->next)
		if (m->nodelen + 1 + m->namelen == keylen && memcmp(m->key, key, keylen) == 0)
			return m;
	return NULL;
}

/* Finds or makes the cache entry for key ("NODE\nNAME"). */
static struct rmember *remote_get(struct croom *r, const char *key, size_t keylen)
{
	struct rmember *m = remote_find(r, key, keylen);
	const char *nl;

	if (m != NULL)
		return m;
	nl = memchr(key, '\n', keylen);
	if (nl == NULL || nl == key || (size_t)(nl - key) + 1 == keylen)
		return NULL;
	m = calloc(1, sizeof(*m) + keylen + 1);
	if (m == NULL)
		return NULL;
	m->nodelen = (size_t)(nl - key);
	m->namelen = keylen - m->nodelen - 1;
	memcpy(m->key, key, keylen);
	m->next = r->remote;
	r->remote = m;
	return m;
}

/* ---- sending ------------------------------------------------------- */

static void note_dropped_down(struct cluster *cl)
{
	cl->st.dropped_down++;
	cl->outage_dropped++;
	if (!cl->outage_logged) {
		cl->outage_logged = true;
		log_warnx("cluster: redis unavailable; lines for other nodes are dropped until it returns");
	}
}

static void ignore_reply(struct rlink *l, void *reply, void *privdata)
{
	(void)l;
	(void)reply;
	(void)privdata;
}

/* privdata: the payload size, counted against MAX_PENDING_BYTES. */
static void published(struct rlink *l, void *reply, void *privdata)
{
	struct cluster *cl = rlink_arg(l);
	size_t n = (size_t)(uintptr_t)privdata;

	(void)reply;
	cl->pending_bytes -= n < cl->pending_bytes ? n : cl->pending_bytes;
}

/* Sends a command that only matters while Redis is there (presence).
 * Presence is rebuilt by the next heartbeat after an outage. */
static void send_quiet(struct cluster *cl, int argc, const char **argv, const size_t *lens)
{
	if (rlink_is_up(cl->pub) && rlink_pending(cl->pub) < MAX_PENDING)
		rlink_command(cl->pub, ignore_reply, NULL, argc, argv, lens);
}

static void presence_add(struct cluster *cl, struct croom *r, const char *name, size_t len)
{
	char key[600], score[32];
	size_t kl = member_key(key, cl->node, name, len);
	const char *argv[] = { "ZADD", r->zkey, score, key };
	size_t lens[] = { 4, strlen(r->zkey), 0, kl };

	lens[2] = (size_t)snprintf(score, sizeof(score), "%" PRId64,
	    wall_ms() + cl->ttl_ms * 3 / 4);
	send_quiet(cl, 4, argv, lens);
}

static void presence_remove(struct cluster *cl, struct croom *r, const char *name, size_t len)
{
	char key[600];
	size_t kl = member_key(key, cl->node, name, len);
	const char *argv[] = { "ZREM", r->zkey, key };
	size_t lens[] = { 4, strlen(r->zkey), kl };

	send_quiet(cl, 3, argv, lens);
}

static void publish_event(struct cluster *cl, struct croom *r, const struct cluster_event *ev)
{
	size_t n = cev_size(ev);
	char stackbuf[2048], *buf = stackbuf;
	const char *argv[3];
	size_t lens[3];

	if (n == 0)
		return;
	if (!rlink_is_up(cl->pub)) {
		note_dropped_down(cl);
		return;
	}
	/* A slow Redis must not make us hold lines without bound. */
	if (rlink_pending(cl->pub) >= MAX_PENDING || cl->pending_bytes + n > MAX_PENDING_BYTES) {
		cl->st.dropped_full++;
		if (!cl->full_logged) {
			cl->full_logged = true;
			log_warnx("cluster: redis is not keeping up; lines for other nodes are dropped");
		}
		return;
	}
	cl->full_logged = false;
	if (n > sizeof(stackbuf) && (buf = malloc(n)) == NULL) {
		cl->st.dropped_full++;
		return;
	}
	cev_encode(ev, buf);
	argv[0] = "PUBLISH";
	lens[0] = 7;
	argv[1] = r->channel;
	lens[1] = strlen(r->channel);
	argv[2] = buf;
	lens[2] = n;
	if (rlink_command(cl->pub, published, (void *)(uintptr_t)n, 3, argv, lens) == 0) { /* NOLINT(performance-no-int-to-ptr): the length rides as the reply's tag */
		cl->st.published++;
		cl->pending_bytes += n;
	} else
		note_dropped_down(cl);
	if (buf != stackbuf)
		free(buf);
}

/* ---- the relay: local events from chat ----------------------------- */

static rlink_reply_fn on_message;

static void subscribe_room(struct cluster *cl, struct croom *r, const char *cmd)
{
	const char *argv[] = { cmd, r->channel };
	size_t lens[] = { strlen(cmd), strlen(r->channel) };

	rlink_subscribe(cl->sub, on_message, NULL, 2, argv, lens);
}

static void relay_room_open(void *arg, const char *name)
{
	struct cluster *cl = arg;
	struct croom *r;

	if (room_find(cl, name) != NULL)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->name = strdup(name)) == NULL ||
	    (r->channel = concat3(cl->prefix, ":room:", name)) == NULL ||
	    (r->zkey = concat3(cl->prefix, ":presence:", name)) == NULL) {
		log_warnx("cluster: out of memory; room %s stays local", name);
		if (r != NULL)
			room_free(r);
		return;
	}
	r->next = cl->rooms;
	cl->rooms = r;
	if (rlink_is_up(cl->sub))
		subscribe_room(cl, r, "SUBSCRIBE");
	selector_timer_arm(cl->beat, 0);	/* read its presence now */
}

static void relay_room_close(void *arg, const char *name)
{
	struct cluster *cl = arg;
	struct croom **pp, *r;

	for (pp = &cl->rooms; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			break;
	if ((r = *pp) == NULL)
		return;
	*pp = r->next;
	if (rlink_is_up(cl->sub))
		subscribe_room(cl, r, "UNSUBSCRIBE");
	for (size_t i = 0; i < r->nlocal; i++)
		presence_remove(cl, r, r->local[i], strlen(r->local[i]));
	room_free(r);
}

static void relay_publish(void *arg, const char *room, enum relay_kind kind, bool announce,
    const char *name, size_t namelen, const char *text, size_t textlen)
{
	struct cluster *cl = arg;
	struct croom *r = room_find(cl, room);
	struct cluster_event ev = {
		.kind = (uint8_t)kind, .flags = announce ? CEV_ANNOUNCE : 0,
		.node = cl->node, .nodelen = strlen(cl->node),
		.name = name, .namelen = namelen, .text = text, .textlen = textlen,
	};

	if (r == NULL)
		return;
	switch (kind) {
	case RELAY_JOIN:
		if (local_add(r, name, namelen) == -1)
			log_warnx("cluster: out of memory; %s missing from other nodes' /who", room);
		presence_add(cl, r, name, namelen);
		break;
	case RELAY_LEAVE:
		local_remove(r, name, namelen);
		presence_remove(cl, r, name, namelen);
		break;
	case RELAY_NICK:
		local_remove(r, name, namelen);
		if (local_add(r, text, textlen) == -1)
			log_warnx("cluster: out of memory; %s missing from other nodes' /who", room);
		presence_remove(cl, r, name, namelen);
		presence_add(cl, r, text, textlen);
		break;
	default:
		break;
	}
	publish_event(cl, r, &ev);
}

struct claim {
	struct cluster *cl;
	void *token;
};

static void claim_reply(struct rlink *l, void *rep, void *privdata)
{
	struct claim *cp = privdata;
	redisReply *reply = rep;
	bool granted = true;

	(void)l;
	/* No answer (Redis went away) or no scripting: this node decided
	 * already that the name is free here; local chat goes on. */
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
		granted = reply->integer != 0;
	else if (reply != NULL && !cp->cl->script_logged) {
		cp->cl->script_logged = true;
		log_warnx("cluster: nickname claim failed in redis (%.*s); deciding locally",
		    reply->type == REDIS_REPLY_ERROR ? (int)(reply->len > 200 ? 200 : reply->len) : 0,
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "");
	}
	cp->cl->sink->nick_result(cp->token, granted);
	free(cp);
}

static int relay_nick_claim(void *arg, const char *room, const char *oldname,
    const char *newname, void *token)
{
	struct cluster *cl = arg;
	struct croom *r = room_find(cl, room);
	char oldkey[600], newkey[600], lower[256], now[32], exp[32];
	size_t nl = strlen(newname), ol = strlen(oldname);
	struct claim *cp;
	int64_t t = wall_ms();

	if (r == NULL || !rlink_is_up(cl->pub) || nl > 255)
		return -1;
	for (size_t i = 0; i < nl; i++)
		lower[i] = (char)tolower((unsigned char)newname[i]);
	{
		const char *argv[] = { "EVAL", claim_script, "1", r->zkey, now, exp,
		    oldkey, newkey, lower };
		size_t lens[] = { 4, sizeof(claim_script) - 1, 1, strlen(r->zkey),
		    (size_t)snprintf(now, sizeof(now), "%" PRId64, t),
		    (size_t)snprintf(exp, sizeof(exp), "%" PRId64, t + cl->ttl_ms * 3 / 4),
		    member_key(oldkey, cl->node, oldname, ol),
		    member_key(newkey, cl->node, newname, nl), nl };

		if ((cp = malloc(sizeof(*cp))) == NULL)
			return -1;
		cp->cl = cl;
		cp->token = token;
		if (rlink_command(cl->pub, claim_reply, cp, 9, argv, lens) == -1) {
			free(cp);
			return -1;
		}
	}
	return 0;
}

static void relay_members(void *arg, const char *room, relay_member_fn *fn, void *fnarg)
{
	struct cluster *cl = arg;
	struct croom *r = room_find(cl, room);

	if (r == NULL)
		return;
	for (struct rmember *m = r->remote; m != NULL; m = m->next)
		if (m->present)
			fn(fnarg, m->key + m->nodelen + 1, m->namelen);
}

/* ---- remote events --------------------------------------------------- */

static void deliver(struct cluster *cl, struct croom *r, enum relay_kind kind, bool announce,
    const struct rmember *m, const char *text, size_t textlen)
{
	char node[256];

	memcpy(node, m->key, m->nodelen);
	node[m->nodelen] = '\0';
	cl->sink->event(r->name, kind, announce, node, m->key + m->nodelen + 1,
	    m->namelen, text, textlen);
}

/* Keeps the cache in step with a remote event; false: drop the event. */
static bool apply_event(struct cluster *cl, struct croom *r, const struct cluster_event *ev,
    struct rmember **mp)
{
	char key[600];
	size_t kl;
	struct rmember *m;
	int64_t now = selector_now(cl->sel);

	memcpy(key, ev->node, ev->nodelen);
	key[ev->nodelen] = '\n';
	memcpy(key + ev->nodelen + 1, ev->name, ev->namelen);
	kl = ev->nodelen + 1 + ev->namelen;
	m = remote_get(r, key, kl);
	if (m == NULL)
		return false;
	*mp = m;
	switch (ev->kind) {
	case CEV_JOIN:
		m->present = true;
		m->stamp = now;
		break;
	case CEV_LEAVE:
		m->present = false;
		m->stamp = now;
		break;
	case CEV_NICK: {
		struct rmember *n;

		if (ev->textlen == 0 || ev->textlen > 255)
			return false;
		m->present = false;
		m->stamp = now;
		memcpy(key + ev->nodelen + 1, ev->text, ev->textlen);
		n = remote_get(r, key, ev->nodelen + 1 + ev->textlen);
		if (n != NULL) {
			n->present = true;
			n->stamp = now;
		}
		break;
	}
	default:
		break;
	}
	return true;
}

static void on_message(struct rlink *l, void *rep, void *privdata)
{
	struct cluster *cl = rlink_arg(l);
	redisReply *reply = rep, *ch, *payload;
	struct cluster_event ev;
	struct rmember *m;
	struct croom *r;
	size_t plen = strlen(cl->prefix);

	(void)privdata;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcasecmp(reply->element[0]->str, "message") != 0)
		return;		/* subscribe/unsubscribe confirmations */
	ch = reply->element[1];
	payload = reply->element[2];
	if (ch->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING ||
	    ch->len <= plen + 6 || memcmp(ch->str, cl->prefix, plen) != 0 ||
	    memcmp(ch->str + plen, ":room:", 6) != 0)
		return;
	if ((r = room_find(cl, ch->str + plen + 6)) == NULL)
		return;
	if (cev_decode(payload->str, payload->len, &ev) == -1) {
		cl->st.bad_payloads++;
		return;
	}
	/* Our own lines were delivered here when they were sent. */
	if (ev.nodelen == strlen(cl->node) && memcmp(ev.node, cl->node, ev.nodelen) == 0)
		return;
	if (!apply_event(cl, r, &ev, &m))
		return;
	cl->st.received++;
	deliver(cl, r, (enum relay_kind)ev.kind, ev.flags & CEV_ANNOUNCE, m, ev.text, ev.textlen);
}

/* ---- presence: heartbeat and refresh --------------------------------- */

struct refresh {
	struct cluster *cl;
	int64_t asked;		/* monotonic ms when the query was sent */
	char room[];
};

static bool own_key(const struct cluster *cl, const char *s, size_t len)
{
	size_t nl = strlen(cl->node);

	return len > nl && memcmp(s, cl->node, nl) == 0 && s[nl] == '\n';
}

/* Members this node lost track of (a previous run, killed): gone. */
static void drop_stale_own(struct cluster *cl, struct croom *r, const char *s, size_t len)
{
	size_t nl = strlen(cl->node);
	const char *argv[] = { "ZREM", r->zkey, s };
	size_t lens[] = { 4, strlen(r->zkey), len };

	if (local_find(r, s + nl + 1, len - nl - 1) < 0)
		send_quiet(cl, 3, argv, lens);
}

/* The live members in Redis against the cache: entries newer than the
 * query stand (an event crossed it); the rest follow Redis. */
static void merge_presence(struct cluster *cl, struct croom *r, const redisReply *reply, int64_t asked)
{
	unsigned gen = ++r->gen;
	int64_t now = selector_now(cl->sel);

	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *e = reply->element[i];
		struct rmember *m;

		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (own_key(cl, e->str, e->len)) {
			drop_stale_own(cl, r, e->str, e->len);
			continue;
		}
		m = remote_get(r, e->str, e->len);
		if (m == NULL)
			continue;
		m->gen = gen;
		if (m->present || m->stamp >= asked)
			continue;
		/* A name is in Redis before its event: a /nick claim adds it,
		 * then the node publishes the rename.  Announcing it at once
		 * would show "NEW joined" and later "OLD left"; a member no
		 * event has told of is announced when a second refresh still
		 * finds it. */
		if (r->synced && !m->seen_once) {
			m->seen_once = true;
			m->stamp = asked;	/* kept, not freed below */
			continue;
		}
		m->present = true;
		m->stamp = asked;
		if (r->synced)
			deliver(cl, r, RELAY_JOIN, true, m, NULL, 0);
	}
	for (struct rmember **pp = &r->remote; *pp != NULL;) {
		struct rmember *m = *pp;

		if (m->gen != gen)
			m->seen_once = false;
		if (m->gen != gen && m->present && m->stamp < asked &&
		    now >= cl->grace_until) {
			/* Its node stopped renewing it: dead or cut off. */
			m->present = false;
			m->stamp = asked;
			deliver(cl, r, RELAY_LEAVE, true, m, NULL, 0);
		}
		if (!m->present && now - m->stamp > 2 * cl->ttl_ms) {
			*pp = m->next;
			free(m);
		} else
			pp = &m->next;
	}
	r->synced = true;
}

static void refresh_reply(struct rlink *l, void *rep, void *privdata)
{
	struct refresh *rf = privdata;
	redisReply *reply = rep;
	struct croom *r;

	(void)l;
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    (r = room_find(rf->cl, rf->room)) != NULL)
		merge_presence(rf->cl, r, reply, rf->asked);
	free(rf);
}

static void renew_local(struct cluster *cl, struct croom *r, const char *score, size_t scorelen)
{
	size_t n = 2 + 2 * r->nlocal, off = 0;
	const char **argv = malloc(n * sizeof(*argv));
	size_t *lens = malloc(n * sizeof(*lens));
	char *keys = malloc(r->nlocal * 600);

	if (argv == NULL || lens == NULL || keys == NULL)
		goto out;
	argv[0] = "ZADD";
	lens[0] = 4;
	argv[1] = r->zkey;
	lens[1] = strlen(r->zkey);
	for (size_t i = 0; i < r->nlocal; i++) {
		char *k = keys + off;

		argv[2 + 2 * i] = score;
		lens[2 + 2 * i] = scorelen;
		argv[3 + 2 * i] = k;
		lens[3 + 2 * i] = member_key(k, cl->node, r->local[i], strlen(r->local[i]));
		off += 600;
	}
	send_quiet(cl, (int)n, argv, lens);
out:
	free(argv);
	free(lens);
	free(keys);
}

static void heartbeat_room(struct cluster *cl, struct croom *r, int64_t wall)
{
	char score[32], now[32], ttl[32];
	size_t sl = (size_t)snprintf(score, sizeof(score), "%" PRId64, wall + cl->ttl_ms * 3 / 4);
	size_t nl = (size_t)snprintf(now, sizeof(now), "%" PRId64, wall);
	size_t tl = (size_t)snprintf(ttl, sizeof(ttl), "%" PRId64, cl->ttl_ms * 4);
	size_t zl = strlen(r->zkey), rl = strlen(r->name);
	struct refresh *rf;

	if (r->nlocal > 0)
		renew_local(cl, r, score, sl);
	{
		const char *argv[] = { "PEXPIRE", r->zkey, ttl };
		size_t lens[] = { 7, zl, tl };

		send_quiet(cl, 3, argv, lens);
	}
	{
		const char *argv[] = { "ZREMRANGEBYSCORE", r->zkey, "-inf", now };
		size_t lens[] = { 16, zl, 4, nl };

		send_quiet(cl, 4, argv, lens);
	}
	if ((rf = malloc(sizeof(*rf) + rl + 1)) == NULL)
		return;
	rf->cl = cl;
	rf->asked = selector_now(cl->sel);
	memcpy(rf->room, r->name, rl + 1);
	{
		const char *argv[] = { "ZRANGEBYSCORE", r->zkey, now, "+inf" };
		size_t lens[] = { 13, zl, nl, 4 };

		if (rlink_command(cl->pub, refresh_reply, rf, 4, argv, lens) == -1)
			free(rf);
	}
}

static int64_t beat_period(const struct cluster *cl)
{
	int64_t p = cl->ttl_ms / 4;

	return p < 50 ? 50 : p;
}

static void on_beat(struct selector *sel, void *arg)
{
	struct cluster *cl = arg;
	int64_t wall = wall_ms();

	(void)sel;
	if (rlink_is_up(cl->pub))
		for (struct croom *r = cl->rooms; r != NULL; r = r->next)
			heartbeat_room(cl, r, wall);
	selector_timer_arm(cl->beat, beat_period(cl));
}

/* ---- the two links --------------------------------------------------- */

static void update_up(struct cluster *cl)
{
	cl->st.up = rlink_is_up(cl->pub) && rlink_is_up(cl->sub);
}

static void pub_up(struct rlink *l, void *arg)
{
	struct cluster *cl = arg;

	(void)l;
	cl->pending_bytes = 0;
	if (cl->outage_logged)
		log_notice("cluster: redis back; %llu %s for other nodes %s dropped meanwhile",
		    (unsigned long long)cl->outage_dropped,
		    cl->outage_dropped == 1 ? "line" : "lines",
		    cl->outage_dropped == 1 ? "was" : "were");
	cl->outage_logged = false;
	cl->outage_dropped = 0;
	/* A Redis that restarted empty has lost the other nodes' presence
	 * until they are back too and renew it: missing from it for one
	 * presence_ttl is not leaving.  (A node that died meanwhile leaves
	 * after that.) */
	if (cl->was_up)
		cl->grace_until = selector_now(cl->sel) + cl->ttl_ms;
	cl->was_up = true;
	update_up(cl);
	selector_timer_arm(cl->beat, 0);	/* presence back at once */
}

static void pub_down(struct rlink *l, void *arg)
{
	struct cluster *cl = arg;

	(void)l;
	cl->st.reconnects++;
	cl->pending_bytes = 0;
	update_up(cl);
}

/* Every subscription again, on every new connection: hiredis forgets
 * them with the context. */
static void sub_up(struct rlink *l, void *arg)
{
	struct cluster *cl = arg;
	static const char cmd[] = "SUBSCRIBE";

	(void)l;
	for (struct croom *r = cl->rooms; r != NULL; r = r->next) {
		const char *argv[] = { cmd, r->channel };
		size_t lens[] = { sizeof(cmd) - 1, strlen(r->channel) };

		rlink_subscribe(cl->sub, on_message, NULL, 2, argv, lens);
	}
	update_up(cl);
	/* Events missed while it was down: read presence again. */
	selector_timer_arm(cl->beat, 0);
}

static void sub_down(struct rlink *l, void *arg)
{
	struct cluster *cl = arg;

	(void)l;
	cl->st.reconnects++;
	update_up(cl);
}

static const struct rlink_ops pub_ops = { pub_up, pub_down };
static const struct rlink_ops sub_ops = { sub_up, sub_down };

/* ---- metrics (SPEC 17) ----------------------------------------------- */

/* The chatd_cluster_* families, after the daemon's own. */
static int cluster_figures(struct buffer *out, void *arg)
{
	const struct cluster *cl = arg;
	const struct cluster_stats *st = &cl->st;

	return figures_family(out, "chatd_cluster_up", "gauge",
	    "1 when both links to Redis are connected, else 0.") |
	    figures_printf(out, "chatd_cluster_up %d\n", st->up ? 1 : 0) |
	    figures_family(out, "chatd_cluster_published_total", "counter",
	    "Local events published to the other nodes (one PUBLISH each).") |
	    figures_printf(out, "chatd_cluster_published_total %llu\n",
	    (unsigned long long)st->published) |
	    figures_family(out, "chatd_cluster_received_total", "counter",
	    "Events of other nodes delivered to this node's members.") |
	    figures_printf(out, "chatd_cluster_received_total %llu\n",
	    (unsigned long long)st->received) |
	    figures_family(out, "chatd_cluster_dropped_total", "counter",
	    "Local events not sent to the other nodes, by reason.") |
	    figures_printf(out, "chatd_cluster_dropped_total{reason=\"redis_down\"} %llu\n"
	    "chatd_cluster_dropped_total{reason=\"queue_full\"} %llu\n",
	    (unsigned long long)st->dropped_down, (unsigned long long)st->dropped_full) |
	    figures_family(out, "chatd_cluster_bad_payloads_total", "counter",
	    "Messages from Redis that were not a valid event.") |
	    figures_printf(out, "chatd_cluster_bad_payloads_total %llu\n",
	    (unsigned long long)st->bad_payloads) |
	    figures_family(out, "chatd_cluster_link_losses_total", "counter",
	    "Connections to Redis (publish or subscribe link) lost.") |
	    figures_printf(out, "chatd_cluster_link_losses_total %llu\n",
	    (unsigned long long)st->reconnects);
}

/* ---- life ------------------------------------------------------------ */

/* "credential:NAME": the file NAME in $CREDENTIALS_DIRECTORY (systemd's
 * LoadCredential=), one line. */
static char *read_password(const char *spec, char *err, size_t errlen)
{
	const char *dir, *name;
	char path[4096], buf[PASSWORD_MAX + 2];
	ssize_t n;
	int fd;

	if (strncmp(spec, "credential:", 11) != 0)
		return strdup(spec);
	name = spec + 11;
	dir = getenv("CREDENTIALS_DIRECTORY");
	if (dir == NULL || *dir == '\0') {
		snprintf(err, errlen, "cluster password %s: $CREDENTIALS_DIRECTORY is not set", spec);
		return NULL;
	}
	if (*name == '\0' || strchr(name, '/') != NULL) {
		snprintf(err, errlen, "cluster password %s: bad credential name", spec);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cluster password %s: %s: %s", spec, path, strerror(errno));
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n > PASSWORD_MAX) {
		snprintf(err, errlen, "cluster password %s: %s: %s", spec, path,
		    n < 0 ? strerror(errno) : "too long");
		return NULL;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return strdup(buf);
}

static char *default_node(void)
{
	char host[256];

	if (gethostname(host, sizeof(host) - 1) == -1 || host[0] == '\0')
		return strdup("chatd");
	host[sizeof(host) - 1] = '\0';
	return strdup(host);
}

static void free_strings(struct cluster *cl)
{
	free(cl->redis);
	free(cl->node);
	free(cl->prefix);
	if (cl->password != NULL)
		memset(cl->password, 0, strlen(cl->password));
	free(cl->password);
	free(cl->password_spec);
}

struct cluster *cluster_new(struct selector *sel, const struct cluster_conf *conf,
    const struct cluster_sink *sink, char *err, size_t errlen)
{
	struct cluster *cl = calloc(1, sizeof(*cl));
	struct rlink_conf lc = { 0 };

	if (cl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cl->sel = sel;
	cl->sink = sink;
	cl->ttl = conf->presence_ttl > 0 ? conf->presence_ttl : 15.0;
	cl->ttl_ms = (int64_t)(cl->ttl * 1000);
	if (cl->ttl_ms < 200)
		cl->ttl_ms = 200;
	snprintf(err, errlen, "out of memory");
	if ((cl->redis = strdup(conf->redis != NULL ? conf->redis : "127.0.0.1:6379")) == NULL ||
	    (cl->node = conf->node != NULL ? strdup(conf->node) : default_node()) == NULL ||
	    (cl->prefix = strdup(conf->prefix != NULL ? conf->prefix : "chatd")) == NULL ||
	    (conf->password != NULL && (cl->password_spec = strdup(conf->password)) == NULL))
		goto fail;
	if (strlen(cl->node) > 255 || strchr(cl->node, '\n') != NULL || cl->node[0] == '\0') {
		snprintf(err, errlen, "cluster node '%s': 1-255 bytes without a newline", cl->node);
		goto fail;
	}
	if (conf->password != NULL && (cl->password = read_password(conf->password, err, errlen)) == NULL)
		goto fail;
	if ((cl->beat = selector_timer_new(sel, on_beat, cl)) == NULL)
		goto fail;
	cl->relay = (struct relay){
		.arg = cl, .room_open = relay_room_open, .room_close = relay_room_close,
		.publish = relay_publish, .nick_claim = relay_nick_claim,
		.members = relay_members,
	};
	lc.target = cl->redis;
	lc.password = cl->password;
	lc.connect_timeout_ms = CONNECT_TIMEOUT_MS;
	lc.command_timeout_ms = COMMAND_TIMEOUT_MS;
	lc.name = "publish";
	if ((cl->pub = rlink_new(sel, &lc, &pub_ops, cl, err, errlen)) == NULL)
		goto fail;
	lc.name = "subscribe";
	if ((cl->sub = rlink_new(sel, &lc, &sub_ops, cl, err, errlen)) == NULL)
		goto fail;
	selector_timer_arm(cl->beat, beat_period(cl));
	figures_set_hook(cluster_figures, cl);
	return cl;
fail:
	cluster_free(cl);
	return NULL;
}

void cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	figures_set_hook(NULL, NULL);	/* the one cluster's, or none yet */
	/* Pending replies run now (nick claims answer), while cl is whole. */
	rlink_free(cl->pub);
	cl->pub = NULL;
	rlink_free(cl->sub);
	cl->sub = NULL;
	if (cl->beat != NULL)
		selector_timer_free(cl->beat);
	while (cl->rooms != NULL) {
		struct croom *r = cl->rooms;

		cl->rooms = r->next;
		room_free(r);
	}
	free_strings(cl);
	free(cl);
}

const struct relay *cluster_relay(struct cluster *cl)
{
	return &cl->relay;
}

const struct cluster_stats *cluster_stats(const struct cluster *cl)
{
	return &cl->st;
}

static bool str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

bool cluster_conf_changed(const struct cluster *cl, const struct cluster_conf *conf)
{
	return str_differs(cl->redis, conf->redis != NULL ? conf->redis : "127.0.0.1:6379") ||
	    (conf->node != NULL && str_differs(cl->node, conf->node)) ||
	    str_differs(cl->prefix, conf->prefix != NULL ? conf->prefix : "chatd") ||
	    str_differs(cl->password_spec, conf->password) ||
	    cl->ttl != (conf->presence_ttl > 0 ? conf->presence_ttl : 15.0);
}
