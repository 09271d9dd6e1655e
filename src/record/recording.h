/* The recording: a SQLite database of every sample the rules read, every
 * firing and what its collection did, for the morning after (report.h)
 * and for trying other rules on the same night (replay.h). The schema is a
 * contract, documented in the README; its version is in meta. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#define RECORDING_SCHEMA_VERSION 1

/* Opens `path` for writing, creating it (mode 0600, never through a
 * symbolic link) with the schema, or checking the schema of one recorded
 * before: a new run is appended to it. On failure, why in `err`. */
int recording_open_write(const char *path, sqlite3 **ret, char *err, size_t err_size);
/* Opens `path` to read, checking its schema version. */
int recording_open_read(const char *path, sqlite3 **ret, char *err, size_t err_size);

/* Runs `sql` (statements without results); -EIO with the reason in
 * `err` (may be NULL). */
int recording_exec(sqlite3 *db, const char *sql, char *err, size_t err_size);
int recording_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret);
/* A column's text, "" for NULL, as a C string owned by the statement. */
const char *recording_text(sqlite3_stmt *st, int col);
