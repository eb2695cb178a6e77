/**
 * Which storage failures mean "the database cannot serve right now" (busy, locked, disk or
 * connection trouble) rather than a bug: those become `503 temporarily_unavailable` with
 * `Retry-After`, and the request has changed nothing (every write is one transaction).
 */

// SQLite result codes (better-sqlite3 `code`), PostgreSQL SQLSTATEs (class 08 connection
// exceptions, 53300 too many connections, 57P01-57P03 shutdown/cannot connect), postgres.js's
// own codes for a lost, refused or timed-out connection or query, and socket errors.
const UNAVAILABLE =
  /^(SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)(_\w+)?|08\w{3}|53300|57P0[1-3]|CONNECTION_(CLOSED|DESTROYED|ENDED)|CONNECT_TIMEOUT|QUERY_TIMEOUT|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH)$/

export function isStoreUnavailable(error: unknown): boolean {
  const { code } = (error ?? {}) as { code?: unknown }
  return typeof code === 'string' && UNAVAILABLE.test(code)
}
