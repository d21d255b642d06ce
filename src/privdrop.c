/*
 * privdrop.c - setgroups, then gid, then uid, each verified: a daemon
 * told to drop privileges must never continue half-dropped.
 */
#include "autoconfig.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

static int lookup(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = NULL;
	struct group *gr;

	if (user != NULL) {
		errno = 0;
		pw = getpwnam(user);
		if (pw == NULL) {
			log_warnx("user \"%s\" does not exist", user);
			return -1;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (group != NULL) {
		gr = getgrnam(group);
		if (gr == NULL) {
			log_warnx("group \"%s\" does not exist", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

static int switch_ids(uid_t uid, gid_t gid, int change_uid)
{
	if (setgroups(1, &gid) == -1) {
		log_warn("setgroups");
		return -1;
	}
#ifdef HAVE_SETRESGID
	if (setresgid(gid, gid, gid) == -1) {
#else
	if (setgid(gid) == -1 || setegid(gid) == -1) {
#endif
		log_warn("setgid %u", (unsigned)gid);
		return -1;
	}
	if (change_uid) {
#ifdef HAVE_SETRESUID
		if (setresuid(uid, uid, uid) == -1) {
#else
		if (setuid(uid) == -1 || seteuid(uid) == -1) {
#endif
			log_warn("setuid %u", (unsigned)uid);
			return -1;
		}
	}
	return 0;
}

static int verify(uid_t uid, gid_t gid, int change_uid)
{
	gid_t groups[2];
	int n = getgroups(2, groups);

	if (getgid() != gid || getegid() != gid || n != 1 || groups[0] != gid) {
		log_warnx("group privileges were not dropped");
		return -1;
	}
	if (change_uid && (getuid() != uid || geteuid() != uid ||
	    (uid != 0 && setuid(0) != -1))) {
		log_warnx("user privileges were not dropped");
		return -1;
	}
	return 0;
}

int privdrop_resolve(const char *user, const char *group, struct privids *ids)
{
	ids->uid = 0;
	ids->gid = 0;
	ids->change_uid = user != NULL;
	ids->needed = false;
	if (geteuid() != 0)
		return 0;
	if (user == NULL && group == NULL) {
		log_msg(LOG_WARNING, "running as root: set \"user\" in the configuration");
		return 0;
	}
	if (user == NULL)
		log_msg(LOG_WARNING, "only \"group\" is set: the uid stays 0 (root); "
		    "set \"user\" in the configuration to drop root");
	ids->needed = true;
	return lookup(user, group, &ids->uid, &ids->gid);
}

int privdrop_apply(const struct privids *ids)
{
	if (!ids->needed)
		return 0;
	if (switch_ids(ids->uid, ids->gid, ids->change_uid) == -1 ||
	    verify(ids->uid, ids->gid, ids->change_uid) == -1)
		return -1;
	log_info("running as uid %u, gid %u", (unsigned)getuid(), (unsigned)getgid());
	return 0;
}
