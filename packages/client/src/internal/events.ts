/** What the steps share to emit `FlowEvent`s: the error summary, URLs without their query, a timer. */
import { performance } from 'node:perf_hooks'
import { AuthcodeClientError, AuthorizationError, OAuthServerError } from '../errors.js'
import type { FlowEventError } from '../events.js'

/** The event form of an error: code and message of this package's errors, the server's OAuth error fields. */
export function eventError(error: unknown): FlowEventError {
  if (!(error instanceof AuthcodeClientError)) return { code: 'INVALID_RESPONSE', message: 'unexpected failure' }
  const summary: { -readonly [K in keyof FlowEventError]: FlowEventError[K] } = { code: error.code, message: error.message }
  if (error instanceof AuthorizationError || error instanceof OAuthServerError) {
    summary.error = error.error
    if (error.error_description !== undefined) summary.errorDescription = error.error_description
  }
  if (error instanceof OAuthServerError) summary.status = error.status
  return summary
}

/** A URL as events show it: origin and path, never the query (it may carry anything). */
export function withoutQuery(url: URL | string): string {
  const parsed = new URL(url)
  return parsed.origin + parsed.pathname
}

/**
 * The start (wall-clock milliseconds, from the same monotonic clock as the duration) and the
 * duration, rounded down to 0.1 ms: a step's start plus its duration never passes the start of
 * the step that follows it.
 */
export function startTimer(): { at: number; elapsed(): number } {
  const start = performance.now()
  return { at: performance.timeOrigin + start, elapsed: () => Math.floor((performance.now() - start) * 10) / 10 }
}
