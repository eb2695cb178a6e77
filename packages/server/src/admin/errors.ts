/**
 * What an administrative operation refuses, as one error type the callers map without knowing the
 * operation: the admin API answers an RFC 9457 problem (400, 404 or 409) naming `field`, the CLI
 * prints `message` as its one line and exits 1. Nothing was changed when one is thrown.
 */

/** Why an operation was refused. */
export type AdminErrorCode =
  /** A value is malformed or not allowed: `field` names it. */
  | 'invalid'
  /** The user, client, key, grant or admin token named does not exist. */
  | 'not_found'
  /** The change contradicts the current state (a username taken, the only signing key). */
  | 'conflict'

const STATUS = { invalid: 400, not_found: 404, conflict: 409 } as const satisfies Record<AdminErrorCode, number>

export class AdminError extends Error {
  override readonly name = 'AdminError'
  /** The HTTP status the admin API answers with. */
  readonly status: (typeof STATUS)[AdminErrorCode]

  constructor(
    readonly code: AdminErrorCode,
    /** Safe to show: names the problem and the field, never a password or secret. */
    message: string,
    /** The JSON name of the field at fault (`redirect_uris`, `password`, …); for an import, the field of the line. */
    readonly field?: string,
    /** For an import: the line (1-based) at fault. */
    readonly line?: number,
  ) {
    super(message)
    this.status = STATUS[code]
  }
}

/** A malformed or refused value of `field`; the message starts with what is wrong with it. */
export function invalidField(field: string, message: string, line?: number): AdminError {
  return new AdminError('invalid', line === undefined ? message : `line ${line}: ${message}`, field, line)
}

export type AdminResource = 'user' | 'client' | 'signing key' | 'grant' | 'admin token' | 'registration token'

/** `notFound('client', 'with id abc')`: "no client with id abc". */
export function notFound(resource: AdminResource, which: string): AdminError {
  return new AdminError('not_found', `no ${resource} ${which}`)
}

export function conflict(message: string, field?: string, line?: number): AdminError {
  return new AdminError('conflict', line === undefined ? message : `line ${line}: ${message}`, field, line)
}

export function isAdminError(error: unknown): error is AdminError {
  return error instanceof AdminError
}
