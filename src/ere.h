/* What a POSIX extended regular expression will cost glibc's regcomp,
 * counted before it is compiled: a short pattern of nested bounds
 * (((a{1,100}){1,100}){1,100}) would otherwise take gigabytes. */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deeper group nesting than this is refused outright (cost: the maximum). */
#define REGEX_MAX_NESTING 32
/* The most a rule's pattern may cost: ample for any pattern written to
 * match a command line; about 10 MB and linear matching at worst. */
#define REGEX_MAX_COST 1000

struct ere_facts {
        /* The number of positions the compiled pattern has, about: atoms,
         * each multiplied by the repetition bounds around it. Saturates,
         * never wraps. */
        uint64_t cost;
        bool repeated_quantifier;       /* a** a+? a{2}*: undefined in POSIX */
        bool back_reference;            /* \1 to \9: not ERE */
};

void ere_scan(const char *pattern, struct ere_facts *ret);
uint64_t ere_cost(const char *pattern);

/* Compiles `pattern` (ERE, REG_NOSUB) for searches whose time is linear in
 * the text, after refusing what costs too much; on failure, `error` says
 * why in words. */
int ere_compile_search(const char *pattern, regex_t *ret, char *error, size_t error_size);
