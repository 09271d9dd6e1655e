/* Telling systemd how the service is (sd_notify(3)): READY=1 once the rules
 * are loaded and the first scan is done, RELOADING=1 with MONOTONIC_USEC=
 * around a reload, STOPPING=1, a current STATUS= line, and WATCHDOG=1 pings
 * when the unit sets WatchdogSec=. Through libsystemd where it was built
 * with it; without it (or without $NOTIFY_SOCKET) each call does nothing. */
#pragma once

#include <stdbool.h>

#include "util.h"

/* Sends `state` (lines of KEY=VALUE). */
void notify_send(const char *state);
/* How often to ping the watchdog: half of WatchdogSec=; 0 if not asked. */
usec_t notify_watchdog_period(void);
