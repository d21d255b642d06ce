/*
 * launch.h - stand-in for macOS's <launch.h> in test_activation, so the
 * launchd path of activation.c builds and runs where there is no launchd:
 * the test defines launch_activate_socket(3) itself.
 */
#ifndef CHATD_TEST_LAUNCH_H
#define CHATD_TEST_LAUNCH_H

#include <stddef.h>

int launch_activate_socket(const char *name, int **fds, size_t *cnt);

#endif
