/**
 * Where the database is: the one reader of `--db` / `AUTHCODE_DB` / the file's `db`. A leaf, so
 * that configuration can check a location without loading a driver.
 */
import { availableParallelism } from 'node:os'

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
 * PostgreSQL connections per instance when `dbPoolSize` is not set: twice the cores plus one,
 * PostgreSQL's own rule of thumb for connections that are busy at once. An instance's statements
 * are short (three per code exchange, each well under a millisecond), so more connections than
 * the cores can serve only queue inside the database instead of in the pool.
 */
export function defaultPoolSize(cores = availableParallelism()): number {
  return 2 * cores + 1
}
