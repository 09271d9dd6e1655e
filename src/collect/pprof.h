/* A writer of pprof profiles (profile.proto), gzip-compressed with zlib:
 * the format `go tool pprof`, and most profilers' viewers, read. It keeps
 * the string, function and location tables; the caller adds samples. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct pprof_function {
        int64_t name, filename;         /* string table indexes */
};

struct pprof_mapping {
        uint64_t start, limit, offset;
        int64_t filename;
        int64_t build_id;               /* hex, so it can be symbolized again later; 0: "" */
};

struct pprof_location {
        uint64_t address;
        uint64_t mapping_id;            /* 0: none */
        uint64_t function_id;           /* 0: no symbol */
        int64_t line;
};

struct pprof_sample {
        uint64_t *location_ids;         /* leaf first */
        size_t n_locations;
        int64_t count, nanos;
};

struct pprof {
        char **strings;
        size_t n_strings;
        struct pprof_function *functions;
        size_t n_functions;
        struct pprof_mapping *mappings;
        size_t n_mappings;
        struct pprof_location *locations;
        size_t n_locations;
        struct pprof_sample *samples;
        size_t n_samples;
        int64_t time_nanos, duration_nanos, period;
};

int pprof_init(struct pprof *p);
void pprof_free(struct pprof *p);
/* Index of `s` in the string table, adding it once. */
int64_t pprof_string(struct pprof *p, const char *s);
/* Id (1-based) of the function (name, file), adding it once. */
uint64_t pprof_function(struct pprof *p, const char *name, const char *file);
/* Id (1-based) of a new mapping; the first added is the main binary. */
uint64_t pprof_mapping(struct pprof *p, uint64_t start, uint64_t limit, uint64_t offset, const char *file,
                       const char *build_id);
/* Id (1-based) of a new location. */
uint64_t pprof_location(struct pprof *p, uint64_t address, uint64_t mapping_id, uint64_t function_id,
                        int64_t line);
int pprof_add_sample(struct pprof *p, const uint64_t *location_ids, size_t n, int64_t count, int64_t nanos);
/* Encodes (sample types samples/count and cpu/nanoseconds) and gzips to fd. */
int pprof_write_gzip(const struct pprof *p, int fd);
