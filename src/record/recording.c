#include "recording.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Times are microseconds: `t` since the epoch (UTC), `mono` on the
 * monotonic clock the engine measures `for` and `cooldown` with, so a
 * replay sees exactly the intervals the live engine saw. Samples are kept
 * in the order they were taken (rowid), which is time order: pruning the
 * oldest and streaming a replay need no index. */
static const char schema[] =
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;\n"
        "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, started INTEGER NOT NULL, host TEXT,\n"
        "  mode TEXT, command TEXT, output TEXT, version TEXT);\n"
        "CREATE TABLE IF NOT EXISTS rules(id INTEGER PRIMARY KEY, run INTEGER NOT NULL, name TEXT NOT NULL,\n"
        "  metric TEXT NOT NULL, interval INTEGER, window INTEGER, condition TEXT, above REAL,\n"
        "  above_is_pct INTEGER, spike REAL, min REAL, min_is_pct INTEGER, growth REAL, over INTEGER,\n"
        "  for_samples INTEGER, for_duration INTEGER, cooldown INTEGER, max INTEGER, file TEXT, line INTEGER);\n"
        "CREATE TABLE IF NOT EXISTS targets(id INTEGER PRIMARY KEY, run INTEGER NOT NULL, kind TEXT NOT NULL,\n"
        "  pid INTEGER, start_time INTEGER, comm TEXT, cmdline TEXT, uid INTEGER, cgroup TEXT,\n"
        "  first_seen INTEGER NOT NULL);\n"
        "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, target INTEGER NOT NULL,\n"
        "  metric TEXT NOT NULL, interval INTEGER NOT NULL);\n"
        "CREATE TABLE IF NOT EXISTS series_rules(series INTEGER NOT NULL, rule INTEGER NOT NULL,\n"
        "  PRIMARY KEY(series, rule)) WITHOUT ROWID;\n"
        "CREATE TABLE IF NOT EXISTS samples(series INTEGER NOT NULL, t INTEGER NOT NULL,\n"
        "  mono INTEGER NOT NULL, value REAL NOT NULL, reference REAL);\n"
        "CREATE TABLE IF NOT EXISTS firings(id INTEGER PRIMARY KEY, run INTEGER NOT NULL,\n"
        "  rule INTEGER NOT NULL, series INTEGER NOT NULL, t INTEGER NOT NULL, mono INTEGER NOT NULL,\n"
        "  value REAL, mean REAL, threshold REAL, condition TEXT, status TEXT NOT NULL, reason TEXT);\n"
        "CREATE TABLE IF NOT EXISTS artifacts(id INTEGER PRIMARY KEY, firing INTEGER NOT NULL, path TEXT,\n"
        "  pid INTEGER, comm TEXT, bytes INTEGER, complete INTEGER);\n"
        "CREATE TABLE IF NOT EXISTS actions(artifact INTEGER NOT NULL, action TEXT NOT NULL,\n"
        "  status TEXT NOT NULL, error TEXT, bytes INTEGER, seconds REAL, stopped_seconds REAL);\n"
        /* What people query by hand, with readable times and names: UTC to the
 * millisecond, cut rather than rounded, as trigger.json writes them. */
        "CREATE VIEW IF NOT EXISTS samples_named AS\n"
        "  SELECT strftime('%Y-%m-%dT%H:%M:%S', s.t / 1000000, 'unixepoch')\n"
        "    || printf('.%03dZ', s.t / 1000 % 1000) AS time, tg.kind AS kind,\n"
        "    tg.pid AS pid, tg.comm AS comm, tg.cgroup AS cgroup, se.metric AS metric, s.value AS value\n"
        "  FROM samples s JOIN series se ON se.id = s.series JOIN targets tg ON tg.id = se.target;\n"
        "CREATE VIEW IF NOT EXISTS firings_named AS\n"
        "  SELECT f.id AS id, strftime('%Y-%m-%dT%H:%M:%S', f.t / 1000000, 'unixepoch')\n"
        "    || printf('.%03dZ', f.t / 1000 % 1000) AS time, r.name AS rule,\n"
        "    tg.pid AS pid, tg.comm AS comm, tg.cgroup AS cgroup, se.metric AS metric, f.value AS value,\n"
        "    f.threshold AS threshold, f.condition AS condition, f.status AS status, f.reason AS reason\n"
        "  FROM firings f JOIN rules r ON r.id = f.rule JOIN series se ON se.id = f.series\n"
        "    JOIN targets tg ON tg.id = se.target;\n";

int recording_exec(sqlite3 *db, const char *sql, char *err, size_t err_size) {
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
                return 0;
        if (err)
                snprintf(err, err_size, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -EIO;
}

int recording_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret) {
        return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, ret, NULL) == SQLITE_OK ? 0 : -EIO;
}

const char *recording_text(sqlite3_stmt *st, int col) {
        const unsigned char *s = sqlite3_column_text(st, col);
        return s ? (const char *) s : "";
}

static int check_version(sqlite3 *db, char *err, size_t err_size) {
        sqlite3_stmt *st;
        if (recording_prepare(db, "SELECT value FROM meta WHERE key = 'schema_version'", &st) < 0) {
                snprintf(err, err_size, "not an autodump recording (%s)", sqlite3_errmsg(db));
                return -EINVAL;
        }
        int r = 0;
        if (sqlite3_step(st) != SQLITE_ROW) {
                snprintf(err, err_size, "not an autodump recording (no schema version)");
                r = -EINVAL;
        } else if (sqlite3_column_int(st, 0) != RECORDING_SCHEMA_VERSION) {
                snprintf(err, err_size, "recorded with schema version %d; this autodump reads version %d",
                         sqlite3_column_int(st, 0), RECORDING_SCHEMA_VERSION);
                r = -EPROTO;
        }
        sqlite3_finalize(st);
        return r;
}

/* The file is made here, 0600 and never through a link: it holds command
 * lines, and autodump runs as root in directories others may write. */
static int create_file(const char *path, char *err, size_t err_size) {
        int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
        if (fd < 0) {
                snprintf(err, err_size, "%s", errno == ELOOP ? "is a symbolic link" : strerror(errno));
                return -errno;
        }
        close(fd);
        return 0;
}

int recording_open_write(const char *path, sqlite3 **ret, char *err, size_t err_size) {
        int r = create_file(path, err, err_size);
        if (r < 0)
                return r;
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
                snprintf(err, err_size, "%s", db ? sqlite3_errmsg(db) : "out of memory");
                sqlite3_close(db);
                return -EIO;
        }
        sqlite3_busy_timeout(db, 2000);
        /* auto_vacuum must come before the first table: pruning then gives
         * pages back. WAL with synchronous=NORMAL: a SIGKILLed autodump
         * loses nothing committed (a power loss may lose the last ticks). */
        r = recording_exec(db,
                           "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;"
                           "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 8388608;",
                           err, err_size);
        if (r == 0)
                r = recording_exec(db, schema, err, err_size);
        if (r == 0) {
                char sql[128];
                snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO meta VALUES('schema_version', '%d');",
                         RECORDING_SCHEMA_VERSION);
                r = recording_exec(db, sql, err, err_size);
        }
        if (r == 0)
                r = check_version(db, err, err_size);
        if (r < 0) {
                sqlite3_close(db);
                return r;
        }
        *ret = db;
        return 0;
}

int recording_open_read(const char *path, sqlite3 **ret, char *err, size_t err_size) {
        sqlite3 *db = NULL;
        if (access(path, R_OK) < 0) {
                snprintf(err, err_size, "%s", strerror(errno));
                return -errno;
        }
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
                snprintf(err, err_size, "%s", db ? sqlite3_errmsg(db) : "out of memory");
                sqlite3_close(db);
                return -EIO;
        }
        sqlite3_busy_timeout(db, 2000);
        int r = check_version(db, err, err_size);
        if (r < 0) {
                sqlite3_close(db);
                return r;
        }
        *ret = db;
        return 0;
}
