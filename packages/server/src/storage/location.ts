/**
 * Where the database is: the one reader of `--db` / `AUTHCODE_DB` / the file's `db`. A leaf, so
 * that configuration can check a location without loading a driver.
 */
export type DatabaseLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string }

/** The forms a database location may take, as every error about one names them. */
export const ACCEPTED_DATABASE_LOCATIONS = 'expected sqlite:PATH, a file path ending in .db, .sqlite or .sqlite3, or postgres://…'

/**
 * Reads a database location: `sqlite:PATH`, a bare path ending in `.db`, `.sqlite` or `.sqlite3`,
 * or `postgres://…` / `postgresql://…`. Anything else (`mysql://…`, a typo, an empty path) is
 * refused rather than taken for a SQLite file at a strange path. Never echoes `db` in an error: a
 * URL may carry a password.
 *
 * @throws TypeError when `db` is none of the accepted forms.
 * @example
 * parseDatabaseUrl('sqlite:./data/authcode.db') // { dialect: 'sqlite', path: './data/authcode.db' }
 */
export function parseDatabaseUrl(db: string): DatabaseLocation {
  if (db.startsWith('sqlite:') && !db.startsWith('sqlite://') && db.length > 'sqlite:'.length) {
    return { dialect: 'sqlite', path: db.slice('sqlite:'.length) }
  }
  if (db.startsWith('postgres://') || db.startsWith('postgresql://')) {
    return { dialect: 'postgres', url: db }
  }
  if (/\.(db|sqlite|sqlite3)$/.test(db) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    return { dialect: 'sqlite', path: db }
  }
  throw new TypeError(`unsupported database location: ${ACCEPTED_DATABASE_LOCATIONS}`)
}

/**
 * PostgreSQL connections per instance when `dbPoolSize` is not set. An instance is one event loop,
 * and postgres.js pipelines its statements (up to 100 on a connection before the answers come
 * back), so a couple of connections carry all of one instance's work whatever the machine; each
 * further connection only costs the database CPU (issue #15 measured 2 to 10 connections: the
 * code exchange did most with 2 or 3, and PostgreSQL spent 430 µs per exchange with 3 against
 * 690 µs with 10). The third is for a transaction, which holds a connection of its own.
 */
export const DEFAULT_POOL_SIZE = 3
