import { describe, expect, it } from 'vitest'
import * as errors from './errors.js'
import { ERROR_STATUS, OAuthError, isOAuthError, type OAuthErrorCode } from './errors.js'

describe('OAuthError', () => {
  it('RFC 6749 §5.2 / RFC 6750 §3.1: the status follows from the code (invalid_client 401, insufficient_scope 403, server_error 500)', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS) as [OAuthErrorCode, number][]) {
      expect(new OAuthError(code, 'x').status).toBe(status)
    }
    expect(ERROR_STATUS.invalid_client).toBe(401)
    expect(ERROR_STATUS.invalid_token).toBe(401)
    expect(ERROR_STATUS.insufficient_scope).toBe(403)
    expect(ERROR_STATUS.invalid_grant).toBe(400)
    expect(ERROR_STATUS.temporarily_unavailable).toBe(503)
  })

  it('RFC 6585 §4: a factory may override the status (429 when throttled) and give Retry-After', () => {
    const error = errors.invalidClient('slow down', { status: 429, retryAfter: 30 })
    expect(error.error).toBe('invalid_client')
    expect(error.status).toBe(429)
    expect(error.retryAfter).toBe(30)
  })

  it('RFC 6749 §5.2: the body is error and error_description only; the cause and the stack are never serialized', () => {
    const cause = new Error('SQLITE_BUSY at /var/lib/authcode.db')
    const error = errors.serverError(cause)
    expect(error.cause).toBe(cause)
    expect(error.toJSON()).toEqual({ error: 'server_error', error_description: 'the server could not complete the request' })
    expect(JSON.parse(JSON.stringify(error))).toEqual(error.toJSON())
    expect(JSON.stringify(error)).not.toContain('SQLITE')
  })

  it('RFC 6749 §5.2: a description outside %x20-21 / %x23-5B / %x5D-7E is a programming error (TypeError), never sent', () => {
    for (const description of ['say "hi"', 'back\\slash', 'line\nbreak', 'café', 'tab\there']) {
      expect(() => new OAuthError('invalid_request', description)).toThrow(TypeError)
    }
    expect(() => new OAuthError('invalid_request', "it's fine: [a-z] {ok} ~!#$%&()*+,-./:;<=>?@^_`|")).not.toThrow()
  })

  it('RFC 6750 §3: insufficient_scope carries the scope the resource needs', () => {
    const error = errors.insufficientScope('openid')
    expect(error.error).toBe('insufficient_scope')
    expect(error.status).toBe(403)
    expect(error.scope).toBe('openid')
  })

  it('RFC 6749 §4.1.2.1: temporarily_unavailable asks the client to retry after 5 seconds', () => {
    const error = errors.temporarilyUnavailable(new Error('pool exhausted'))
    expect(error).toMatchObject({ error: 'temporarily_unavailable', status: 503, retryAfter: 5 })
  })

  it('STYLE rule 3: each factory makes the RFC code it is named after', () => {
    const made: [OAuthError, OAuthErrorCode][] = [
      [errors.invalidRequest('x'), 'invalid_request'],
      [errors.invalidClient('x'), 'invalid_client'],
      [errors.invalidGrant('x'), 'invalid_grant'],
      [errors.unauthorizedClient('x'), 'unauthorized_client'],
      [errors.unsupportedGrantType('x'), 'unsupported_grant_type'],
      [errors.unsupportedResponseType('x'), 'unsupported_response_type'],
      [errors.invalidScope('x'), 'invalid_scope'],
      [errors.accessDenied('x'), 'access_denied'],
      [errors.loginRequired('x'), 'login_required'],
      [errors.consentRequired('x'), 'consent_required'],
      [errors.invalidToken('x'), 'invalid_token'],
    ]
    for (const [error, code] of made) {
      expect(error).toBeInstanceOf(OAuthError)
      expect(error.error).toBe(code)
      expect(error.description).toBe('x')
    }
  })

  it('isOAuthError tells OAuth errors from everything else', () => {
    expect(isOAuthError(errors.invalidGrant('x'))).toBe(true)
    expect(isOAuthError(new Error('x'))).toBe(false)
    expect(isOAuthError({ error: 'invalid_grant', status: 400 })).toBe(false)
  })
})
