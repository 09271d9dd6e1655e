#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Splits "12.5GiB" into 12.5 and "GiB". Rejects signs, blanks, hex, inf. */
static int split_number(const char *s, double *ret_value, const char **ret_unit) {
        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        const char *p = s;
        while (isdigit((unsigned char) *p))
                p++;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                while (isdigit((unsigned char) *p))
                        p++;
        }
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end != p)
                return -EINVAL;         /* strtod read more, as in "0x10" */
        if (errno == ERANGE || !isfinite(v))
                return -ERANGE;
        *ret_value = v;
        *ret_unit = p;
        return 0;
}

struct unit { const char *name; double factor; };

static int parse_with_units(const char *s, const struct unit *units, size_t n,
                            bool unit_required, double *ret) {
        double v;
        const char *unit;
        int r = split_number(s, &v, &unit);
        if (r < 0)
                return r;
        if (*unit == 0) {
                if (unit_required)
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(unit, units[i].name) == 0) {
                        *ret = v * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

int parse_duration(const char *s, usec_t *ret) {
        static const struct unit units[] = {
                { "ms", 1e3 }, { "s", 1e6 }, { "m", 60e6 }, { "h", 3600e6 }, { "d", 86400e6 },
        };
        double v;
        int r = parse_with_units(s, units, ELEMENTSOF(units), true, &v);
        if (r < 0)
                return r;
        /* 2^62 µs is 146,000 years; a larger value (2^63 itself among them)
         * would overflow llround. */
        if (!(v < 0x1p62))
                return -ERANGE;
        *ret = (usec_t) llround(v);
        return 0;
}

int parse_size(const char *s, double *ret) {
        static const struct unit units[] = {
                { "B", 1 },
                { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 }, { "TiB", 1099511627776.0 },
                { "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 }, { "TB", 1e12 },
        };
        return parse_with_units(s, units, ELEMENTSOF(units), false, ret);
}

int parse_percent(const char *s, double *ret) {
        static const struct unit units[] = { { "%", 1 } };
        return parse_with_units(s, units, ELEMENTSOF(units), true, ret);
}

int parse_number(const char *s, double *ret) {
        return parse_with_units(s, NULL, 0, false, ret);
}

int parse_unsigned(const char *s, unsigned *ret) {
        double v;
        int r = parse_number(s, &v);
        if (r < 0)
                return r;
        if (v != floor(v))
                return -EINVAL;
        if (v > (double) UINT32_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

bool is_percent(const char *s) {
        size_t n = strlen(s);
        return n > 0 && s[n - 1] == '%';
}

void format_size(double bytes, char *buf, size_t size) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        if (bytes < 1024) {
                snprintf(buf, size, "%.0fB", bytes);
                return;
        }
        size_t u = 0;
        for (bytes /= 1024; bytes >= 1024 && u + 1 < ELEMENTSOF(units); u++)
                bytes /= 1024;
        snprintf(buf, size, "%.1f%s", bytes, units[u]);
}

void format_duration(usec_t d, char *buf, size_t size) {
        static const struct { const char *name; usec_t factor; } units[] = {
                { "d", 86400 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC }, { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC },
        };
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (d >= units[i].factor && d % units[i].factor == 0) {
                        snprintf(buf, size, "%llu%s", (unsigned long long) (d / units[i].factor), units[i].name);
                        return;
                }
        snprintf(buf, size, "%lluus", (unsigned long long) d);
}
