/**
 * The one error class of `@authcode/asyncapi`: thrown only when a document cannot be used at all
 * (unreadable, not YAML/JSON, not an AsyncAPI document, an unsupported version, a `$ref` the loader
 * refuses to follow or one that expands past the loader's budgets). Everything wrong
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
  /**
   * A `$ref` the loader does not follow: to a file outside the document's folder (symbolic links
   * resolved), to a URL (`http:`, `https:`; nothing is fetched), to another file when the document was
   * parsed without its file, to something not a regular file (a FIFO, device, directory), to a file
   * over `maxRefFileBytes`, or to a string or number (a file's text never replaces a value).
   */
  | 'ERR_ASYNCAPI_REF_REFUSED'
  /** Following the `$ref`s produced more than `maxNodes` nodes or took longer than `timeoutMs` (a reference fan-out). */
  | 'ERR_ASYNCAPI_REF_BUDGET'

/**
 * An AsyncAPI document that cannot be read or parsed. `cause` keeps the underlying error. The `$ref`
 * errors also carry the reference's JSON pointer (where its content would stand in the document) and
 * its line in the document's source, both also named in the message.
 */
export class AsyncApiError extends Error {
  override readonly name = 'AsyncApiError'
  readonly code: AsyncApiErrorCode
  /** `ERR_ASYNCAPI_REF_*`: the JSON pointer of the `$ref` in the document. */
  readonly pointer?: string
  /** `ERR_ASYNCAPI_REF_*`: the 1-based line of {@link pointer} (or its nearest ancestor) in the document's source. */
  readonly line?: number

  constructor(code: AsyncApiErrorCode, message: string, options?: { cause?: unknown; pointer?: string; line?: number }) {
    super(message, options)
    this.code = code
    if (options?.pointer !== undefined) this.pointer = options.pointer
    if (options?.line !== undefined) this.line = options.line
  }
}
