/**
 * The one error class of `@authcode/asyncapi`: thrown only when a document cannot be used at all
 * (unreadable, not YAML/JSON, not an AsyncAPI document, an unsupported version). Everything wrong
 * *inside* a readable document is returned as a {@link Problem}, never thrown.
 */

/** Every code an {@link AsyncApiError} can carry. Stable: callers may switch on them. */
export type AsyncApiErrorCode =
  /** The file could not be read (missing, unreadable). */
  | 'ERR_ASYNCAPI_READ'
  /** The text is neither YAML nor JSON. */
  | 'ERR_ASYNCAPI_PARSE'
  /** The text parses, but is not an object with an `asyncapi` version string. */
  | 'ERR_ASYNCAPI_NOT_ASYNCAPI'
  /** The declared `asyncapi` version is not 2.0–2.6 or 3.0–3.1. */
  | 'ERR_ASYNCAPI_VERSION'

/** An AsyncAPI document that cannot be read or parsed. `cause` keeps the underlying error. */
export class AsyncApiError extends Error {
  override readonly name = 'AsyncApiError'
  readonly code: AsyncApiErrorCode

  constructor(code: AsyncApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
