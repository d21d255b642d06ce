/*
 * fault.c - chatd's side of fault injection (see fault.h): libfiu's
 * start-up and the choice of errno for a failure point that fires.
 * Only compiled with --enable-fault-injection.
 */
#include "autoconfig.h"

#ifdef HAVE_FIU
#include <errno.h>
#include <stdint.h>

#include <fiu.h>

#include "fault.h"

void fault_init(void)
{
	(void)fiu_init(0);
}

int fault_hit(const char *name, const int *errs, size_t n)
{
	static size_t turn;
	intptr_t info;

	if (!fiu_fail(name))
		return 0;
	info = (intptr_t)fiu_failinfo();
	errno = info != 0 ? (int)info : errs[turn++ % n];
	return 1;
}
#endif
