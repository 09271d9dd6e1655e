#include "notify.h"

#include "build_features.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

void notify_send(const char *state) {
        (void) sd_notify(0, state);
}

usec_t notify_watchdog_period(void) {
        uint64_t usec = 0;
        /* Pinging twice per period leaves room for a slow tick. */
        return sd_watchdog_enabled(0, &usec) > 0 ? (usec_t) usec / 2 : 0;
}
#else
void notify_send(const char *state) {
}

usec_t notify_watchdog_period(void) {
        return 0;
}
#endif
