/* Parsing of the units used in rule and config files. Pure: no I/O.
 * All return 0 or -EINVAL (syntax, unknown unit) / -ERANGE (too large). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* "250ms", "1s", "1.5m", "2h", "14d". A unit is required. */
int parse_duration(const char *s, usec_t *ret);

/* "1048576", "512KiB", "1.5GiB", "10MB", "3B". 1024-based for KiB..TiB,
 * 1000-based for KB..TB. */
int parse_size(const char *s, double *ret);

/* "25%" → 25. */
int parse_percent(const char *s, double *ret);

/* A plain non-negative number, "3" or "0.5". */
int parse_number(const char *s, double *ret);

/* A non-negative integer that fits in unsigned. */
int parse_unsigned(const char *s, unsigned *ret);

/* Whether the string ends in '%' (the caller then wants parse_percent). */
bool is_percent(const char *s);

/* Formats bytes for people: "812B", "3.4KiB", "109.9MiB", "2.1GiB". */
void format_size(double bytes, char *buf, size_t size);

/* Formats a duration as the shortest exact form ("1500ms", "10s", "5m"). */
void format_duration(usec_t d, char *buf, size_t size);
