/**
 * The cookies of the Web handler: reading a request's `Cookie` header, the attributes every cookie
 * it sets carries (HttpOnly, `SameSite`, `Secure`), and the name of a login attempt's cookie.
 * The cookies hold random ids only, never a token.
 */
import { createHash } from 'node:crypto'

export type SameSite = 'Lax' | 'Strict' | 'None'

/** The attributes of a cookie the handler sets. */
export interface CookieAttributes {
  /** Seconds; `0` deletes the cookie, undefined makes it end with the browser session. */
  readonly maxAge: number | undefined
  readonly path: string
  readonly sameSite: SameSite
  readonly secure: boolean
}

/** A cookie name is an HTTP token (RFC 6265 §4.1.1). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Whether `value` can be used as a cookie name. */
export function isCookieName(value: string): boolean {
  return COOKIE_NAME.test(value)
}

/** The cookies of a request, by name (the first of a repeated name wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    const name = part.slice(0, eq).trim()
    let value = part.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    if (name !== '' && !cookies.has(name)) cookies.set(name, value)
  }
  return cookies
}

/** A `Set-Cookie` value: always HttpOnly, with the given path, `SameSite`, `Max-Age` and `Secure`. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  const parts = [`${name}=${value}`, `Path=${attributes.path}`, 'HttpOnly', `SameSite=${attributes.sameSite}`]
  if (attributes.maxAge !== undefined) parts.push(`Max-Age=${attributes.maxAge}`)
  if (attributes.secure) parts.push('Secure')
  return parts.join('; ')
}

/**
 * The login cookie of the attempt whose `state` is given: one cookie per attempt (tabs do not
 * interfere), named after a hash of the state so the callback finds it without the state being
 * written into a cookie name.
 */
export function loginCookieName(prefix: string, state: string): string {
  return `${prefix}_${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`
}
