/*
 * notify.h - telling the service manager about our state (sd_notify(3)
 * under systemd; nothing elsewhere).
 */
#ifndef CHATD_NOTIFY_H
#define CHATD_NOTIFY_H

void notify_ready(unsigned nconns);
void notify_reloading(void);
/* READY=1 after a reload that kept the old configuration. */
void notify_reload_failed(unsigned nconns);
void notify_stopping(void);
void notify_status(unsigned nconns);
/* Watchdog interval in ms when WatchdogSec= is set, else 0. */
long notify_watchdog_ms(void);
void notify_watchdog(void);

#endif
