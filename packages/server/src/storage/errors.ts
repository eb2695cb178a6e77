/**
 * Which storage failures mean "the database cannot serve right now" (busy, locked, disk or
 * connection trouble) rather than a bug: those become `503 temporarily_unavailable` with
 * `Retry-After`, and the request has changed nothing (every write is one transaction).
 */

// SQLite result codes (better-sqlite3 `code`), PostgreSQL SQLSTATEs (class 08 connection
// exceptions, 53300 too many connections, 57P01-57P03 shutdown/cannot connect) and socket errors.
const UNAVAILABLE = /^(SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)(_\w+)?|08\w{3}|53300|57P0[1-3]|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH)$/

// pg reports a lost or refused connection without a code.
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/

export function isStoreUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === 'string') return UNAVAILABLE.test(code)
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)
}
