/**
 * The cookies of the browser side, all HttpOnly and SameSite=Lax. Under an https issuer they are
 * Secure and carry the `__Host-` prefix (`__Secure-` when the issuer has a path), so a sibling
 * subdomain cannot plant or overwrite them (SECURITY.md 30, RFC 6265bis §4.1.3).
 * - `authcode_session`: the login session (who is signed in, since when); 256-bit random, the
 *   store keeps its hash and the browser it was started in. The sign-in journey
 *   (`protocol/journey.ts`) starts and ends sessions; this module only reads and writes cookies.
 * - `authcode_browser`: binds pending interactions and login sessions to the browser that started
 *   them, so that a leaked interaction URL is useless elsewhere and sign-out ends what this
 *   browser started. A random value with the server's MAC: a value the server did not issue
 *   counts as no cookie at all.
 * - `authcode_device`: the accounts that signed in in this browser before (OWASP's device
 *   cookies), each entry a random id with the server's MAC over it and the username. Failed
 *   sign-ins elsewhere do not slow down an account in a browser it vouches for.
 */
import { createHmac } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { journeyDeps, signOut, type NewSession, type PresentedBrowser, type SignedOut } from '../protocol/journey.js'
import { hashToken, randomToken, safeEqual } from '../tokens/secrets.js'

const SESSION_COOKIE = 'authcode_session'
const BROWSER_COOKIE = 'authcode_browser'
const DEVICE_COOKIE = 'authcode_device'

/** How long a browser keeps vouching for the accounts that signed in there. */
const DEVICE_LIFETIME = 180 * 86_400
/** Accounts one browser vouches for at most (the most recent ones). */
const DEVICE_ENTRIES = 5

const TOKEN = /^[\w-]{43}$/
const SIGNED = /^([\w-]{43})\.([\w-]{43})$/

/** The cookie's name as this issuer sets it: prefixed under https (RFC 6265bis §4.1.3). */
export function cookieName(services: Services, name: string): string {
  if (!services.secureCookies) return name
  return services.basePath === '' ? `__Host-${name}` : `__Secure-${name}`
}

function cookieOptions(services: Services, maxAge: number) {
  return {
    path: services.basePath === '' ? '/' : services.basePath,
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: services.secureCookies,
    maxAge,
  }
}

const read = (request: FastifyRequest, services: Services, name: string): string | undefined => request.cookies[cookieName(services, name)]

const mac = (services: Services, ...parts: string[]): string =>
  createHmac('sha256', services.cookieKey).update(parts.join('\0')).digest('base64url')

/** The browser cookie's value when the server issued it, else undefined. */
function issuedBrowserValue(request: FastifyRequest, services: Services): string | undefined {
  const match = SIGNED.exec(read(request, services, BROWSER_COOKIE) ?? '')
  if (match === null) return undefined
  const [value, random, signature] = match as unknown as [string, string, string]
  return safeEqual(signature, mac(services, 'browser', random)) ? value : undefined
}

/** This browser's binding value, setting the cookie when there is none the server issued. */
function browserValue(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  let value = issuedBrowserValue(request, services)
  if (value === undefined) {
    const random = randomToken()
    value = `${random}.${mac(services, 'browser', random)}`
    reply.setCookie(cookieName(services, BROWSER_COOKIE), value, cookieOptions(services, services.config.lifetimes.loginSession))
    // Later code in this request (a sign-in right after) must see the value it was just given.
    request.cookies[cookieName(services, BROWSER_COOKIE)] = value
  }
  return value
}

/** The hash of this browser's binding value, setting the cookie when there is none yet. */
export function browserBinding(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  return hashToken(browserValue(request, reply, services))
}

/** The hash of this browser's binding value, or undefined when it has none the server issued. */
export function presentedBrowserBinding(request: FastifyRequest, services: Services): string | undefined {
  const value = issuedBrowserValue(request, services)
  return value === undefined ? undefined : hashToken(value)
}

/**
 * The CSRF token of forms that belong to no interaction (the account page): derived from this
 * browser's binding value, which only this browser holds (HttpOnly) and only the server can make,
 * so a page of another site can neither read, guess nor plant it. Distinct from the stored hash,
 * so the database does not reveal it.
 */
export function browserFormToken(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  return formTokenOf(browserValue(request, reply, services))
}

/** The token a form of this browser must carry, or undefined when it has no binding the server issued. */
export function presentedBrowserFormToken(request: FastifyRequest, services: Services): string | undefined {
  const value = issuedBrowserValue(request, services)
  return value === undefined ? undefined : formTokenOf(value)
}

const formTokenOf = (browserValue: string): string => createHmac('sha256', browserValue).update('authcode form token').digest('base64url')

/** The hash of the presented session cookie (live or not), or undefined. */
export function presentedSessionHash(request: FastifyRequest, services: Services): string | undefined {
  const value = read(request, services, SESSION_COOKIE)
  return value === undefined || !TOKEN.test(value) ? undefined : hashToken(value)
}

/** What this browser presented, as the sign-in journey takes it (`protocol/journey.ts`). */
export function presentedBrowser(request: FastifyRequest, services: Services): PresentedBrowser {
  return { bindingHash: presentedBrowserBinding(request, services), sessionHash: presentedSessionHash(request, services) }
}

/**
 * Signs out (SECURITY.md 30): the journey ends every login session of this browser and every
 * interaction it started, and queues the back-channel logouts; the session cookie is cleared.
 */
export async function endLoginSession(request: FastifyRequest, reply: FastifyReply, services: Services): Promise<SignedOut> {
  const signedOut = await signOut(journeyDeps(services), presentedBrowser(request, services), services.now())
  clearLoginSession(reply, services)
  return signedOut
}

/** Clears the session cookie, once the journey ended the session (a sign-out, "sign out everywhere"). */
export function clearLoginSession(reply: FastifyReply, services: Services): void {
  reply.clearCookie(cookieName(services, SESSION_COOKIE), cookieOptions(services, 0))
}

/**
 * Gives this browser the login session the journey just started (`signIn`), and makes the browser
 * vouch for `username` from now on.
 */
export function writeLoginSession(request: FastifyRequest, reply: FastifyReply, services: Services, session: NewSession, username: string): void {
  reply.setCookie(cookieName(services, SESSION_COOKIE), session.value, cookieOptions(services, services.config.lifetimes.loginSession))
  rememberDevice(request, reply, services, username)
}

/** The device cookie's entries, `id.mac` each; malformed ones are dropped. */
function deviceEntries(request: FastifyRequest, services: Services): { id: string; signature: string }[] {
  const value = read(request, services, DEVICE_COOKIE) ?? ''
  return value
    .split('~')
    .slice(0, DEVICE_ENTRIES)
    .flatMap((entry) => {
      const match = SIGNED.exec(entry)
      return match === null ? [] : [{ id: match[1] as string, signature: match[2] as string }]
    })
}

/**
 * The id of this browser's device entry for `username`, when the server issued one after a
 * sign-in of that account here; else undefined.
 */
export function vouchedDevice(request: FastifyRequest, services: Services, username: string): string | undefined {
  return deviceEntries(request, services).find((entry) => safeEqual(entry.signature, mac(services, 'device', entry.id, username)))?.id
}

function rememberDevice(request: FastifyRequest, reply: FastifyReply, services: Services, username: string): void {
  if (vouchedDevice(request, services, username) !== undefined) return
  const id = randomToken()
  const entries = [`${id}.${mac(services, 'device', id, username)}`, ...deviceEntries(request, services).map((entry) => `${entry.id}.${entry.signature}`)]
  reply.setCookie(cookieName(services, DEVICE_COOKIE), entries.slice(0, DEVICE_ENTRIES).join('~'), cookieOptions(services, DEVICE_LIFETIME))
}
