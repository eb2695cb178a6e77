/**
 * The two cookies of the browser side, both HttpOnly, SameSite=Lax, and Secure under an https
 * issuer. Their values are 256-bit random; the store keeps only hashes.
 * - `authcode_session`: the login session (who is signed in, since when).
 * - `authcode_browser`: binds pending interactions to the browser that started them, so that a
 *   leaked interaction URL is useless elsewhere; one value per browser keeps several tabs apart.
 */
import { createHmac } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import type { LoginSessionRecord } from '../protocol/store.js'
import { hashToken, randomToken } from '../tokens/secrets.js'

export const SESSION_COOKIE = 'authcode_session'
export const BROWSER_COOKIE = 'authcode_browser'

function cookieOptions(services: Services, maxAge: number) {
  return {
    path: services.basePath === '' ? '/' : services.basePath,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: services.secureCookies,
    maxAge,
  }
}

/** This browser's binding value, setting the cookie when there is none yet. */
function browserValue(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  let value = request.cookies[BROWSER_COOKIE]
  if (value === undefined || !/^[\w-]{43}$/.test(value)) {
    value = randomToken()
    reply.setCookie(BROWSER_COOKIE, value, cookieOptions(services, services.config.lifetimes.loginSession))
  }
  return value
}

/** The hash of this browser's binding value, setting the cookie when there is none yet. */
export function browserBinding(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  return hashToken(browserValue(request, reply, services))
}

/** The hash of this browser's binding value, or undefined when the cookie is missing. */
export function presentedBrowserBinding(request: FastifyRequest): string | undefined {
  const value = request.cookies[BROWSER_COOKIE]
  return value === undefined ? undefined : hashToken(value)
}

/**
 * The CSRF token of forms that belong to no interaction (the account page): derived from this
 * browser's binding value, which only this browser holds (HttpOnly), so a page of another site can
 * neither read nor guess it. Distinct from the stored hash, so the database does not reveal it.
 */
export function browserFormToken(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  return formTokenOf(browserValue(request, reply, services))
}

/** The token a form of this browser must carry, or undefined when the browser cookie is missing. */
export function presentedBrowserFormToken(request: FastifyRequest): string | undefined {
  const value = request.cookies[BROWSER_COOKIE]
  return value === undefined || !/^[\w-]{43}$/.test(value) ? undefined : formTokenOf(value)
}

const formTokenOf = (browserValue: string): string => createHmac('sha256', browserValue).update('authcode form token').digest('base64url')

export async function currentLoginSession(request: FastifyRequest, services: Services): Promise<LoginSessionRecord | undefined> {
  const value = request.cookies[SESSION_COOKIE]
  if (value === undefined || !/^[\w-]{43}$/.test(value)) return undefined
  return services.store.getLoginSession(hashToken(value), services.now())
}

/** Signs out: the session is deleted and its cookie cleared. */
export async function endLoginSession(request: FastifyRequest, reply: FastifyReply, services: Services): Promise<void> {
  const value = request.cookies[SESSION_COOKIE]
  if (value !== undefined) await services.store.deleteLoginSession(hashToken(value))
  reply.clearCookie(SESSION_COOKIE, cookieOptions(services, 0))
}

export async function startLoginSession(reply: FastifyReply, services: Services, userId: string, now: number): Promise<void> {
  const value = randomToken()
  const lifetime = services.config.lifetimes.loginSession
  await services.store.createLoginSession({ idHash: hashToken(value), userId, authTime: now, createdAt: now, expiresAt: now + lifetime })
  reply.setCookie(SESSION_COOKIE, value, cookieOptions(services, lifetime))
}
