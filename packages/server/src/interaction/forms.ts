/**
 * What every form of the browser-facing pages shares: the CSRF check (RFC 6749 §10.12) and the
 * sign-in step (username and password through `protocol/login.ts`, failures logged without either).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { formBody } from '../http/form.js'
import { checkLogin } from '../protocol/login.js'
import type { Params } from '../protocol/params.js'
import type { UserRecord } from '../protocol/store.js'
import { safeEqual } from '../tokens/secrets.js'

/**
 * The form body when it carries `expectedCsrf` and does not come from another origin, else
 * undefined. Browsers send `Origin: null` for forms of pages under `Referrer-Policy: no-referrer`
 * (ours), so `null` says nothing either way; the token, bound to this browser's cookie, is what
 * proves the form is ours.
 */
export function checkedForm(request: FastifyRequest, services: Services, expectedCsrf: string | undefined): Params | undefined {
  const origin = request.headers.origin
  if (origin !== undefined && origin !== 'null' && origin !== services.origin) return undefined
  try {
    const form = formBody(request)
    const csrf = form.single('csrf')
    return expectedCsrf !== undefined && csrf !== undefined && safeEqual(csrf, expectedCsrf) ? form : undefined
  } catch {
    return undefined
  }
}

export const BAD_LOGIN = 'The username or password is incorrect.'

export type SignInOutcome =
  | { user: UserRecord }
  /** Show the sign-in form again with `error`, the username kept. */
  | { status: number; error: string; username: string }

/**
 * Checks the `username` and `password` of a sign-in form (SECURITY.md 7). Starting the login
 * session is the caller's next step (`startLoginSession`).
 */
export async function signIn(request: FastifyRequest, reply: FastifyReply, services: Services, form: Params): Promise<SignInOutcome> {
  let username: string | undefined
  let password: string | undefined
  try {
    username = form.single('username')
    password = form.single('password')
  } catch {
    username = undefined
  }
  if (username === undefined || password === undefined) {
    return { status: 400, error: 'Enter your username and password.', username: username ?? '' }
  }
  const result = await checkLogin(services, username, password, request.ip, services.now())
  switch (result.kind) {
    case 'throttled':
      reply.header('retry-after', String(result.retryAfter))
      return { status: 429, error: 'Too many failed sign-in attempts. Wait a few minutes and try again.', username }
    case 'invalid':
      request.log.info({ event: 'login_failed' }, 'sign-in failed')
      return { status: 401, error: BAD_LOGIN, username }
    case 'valid':
      return { user: result.user }
  }
}
