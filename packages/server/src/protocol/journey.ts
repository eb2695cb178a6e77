/**
 * The sign-in journey of one authorization request, as one explicit state machine (STYLE rule 7,
 * after hydra's `flow/flow.go`): every step the authorization endpoint, the login and consent pages
 * and the account page take over interactions and login sessions is a function here, over the
 * store contracts (`store.ts`), with plain inputs (ids, cookie hashes, `now`, a random source) and
 * a discriminated union that says what happened. Nothing here knows HTTP, cookies or HTML: the
 * endpoints and pages turn results into redirects and pages, `interaction/cookies.ts` turns
 * cookies into the hashes the steps take.
 *
 * | from                | step               | to                                   | refused when                                  |
 * |---------------------|--------------------|--------------------------------------|-----------------------------------------------|
 * | (none)              | `startJourney`     | code at once, `created`, `authenticated` | `prompt=none` needs UI; address busy (SEC 31) |
 * | `created`           | `signIn` + `afterLogin` | `authenticated` (→ `consented` when no consent is needed) | bad password or passkey / throttled; not `created` any more; weaker than `acr_values` (step-up) |
 * | `authenticated`     | `answerConsent`    | `consented` or `denied`              | not `authenticated` any more (double submit)  |
 * | `consented`         | `resume`           | `code_issued` (mints the code)       | replayed link                                 |
 * | `denied`            | `resume`           | (stays) `access_denied` to the client |                                              |
 * | any                 | `signOut`          | (deleted, with the browser's sessions) |                                             |
 *
 * Every step that needs a browser check first goes through `openInteraction` (it exists and has
 * not expired; same browser; from `authenticated` on, still held by its login session, SECURITY.md
 * 30; its client still registered), and takes the opened value it returns, so no caller can skip
 * the check. Every move is a compare-and-set in the store (`TRANSITIONS`), so a double-submitted
 * form or a replayed resume link moves the state at most once. Codes are minted only through
 * `issueAuthorizationCode` (`grants/`), only by `startJourney` and `resume`.
 *
 * Where later work plugs in:
 * - PAR (RFC 9126): a pushed request is the start of the journey: see `RequestOrigin`.
 * - another way to sign in: another `Proof`, verified in `verifyProof` (a password, a passkey); it
 *   reaches `authenticated` through the same `signIn` → `afterLogin`, and gives the login session
 *   its `amr`, which the grants made in it keep for their ID tokens (`passkeys-assurance.ts`).
 * - logout: RP-initiated (`end-session.ts`) and the account page's sign-out end sessions through
 *   `signOut`, which queues the back-channel logout tokens (`backchannel-logout.ts` delivers them).
 */
import { randomUUID } from 'node:crypto'
import { displayName, keepsOwnRows, liveAccount, type Account, type AccountProvider } from './accounts.js'
import type { AuthorizationRequest } from './authorize.js'
import { OAuthError, consentRequired, loginRequired } from './errors.js'
import type { EventSink } from './events.js'
import { issueAuthorizationCode } from './grants/index.js'
import { checkLogin, type LoginAttempt, type LoginDeps } from './login.js'
import { verifyPasskeySignIn, type PasskeyRefusal, type PasskeySettings } from './passkeys.js'
import { ACR, PASSWORD_AMR, acrValuesSupported, satisfiesAcr } from './passkeys-assurance.js'
import type { Throttle } from './rate-limit.js'
import { coversScopes } from './scopes.js'
import type {
  ClientRecord,
  ConsentRecord,
  InteractionRecord,
  InteractionState,
  InteractionTransition,
  LoginSessionRecord,
  SignOutResult,
  Store,
} from './store.js'
import { hashToken, randomToken } from '../tokens/secrets.js'

// ---------------------------------------------------------------------------------------------
// What the journey needs

/** The settings the journey reads; `ServerConfig` satisfies it. */
export interface JourneySettings {
  lifetimes: {
    /** Seconds an authorization code lives. */
    code: number
    /** Seconds a pending interaction lives (time to finish login and consent). */
    interaction: number
    /** Seconds a login session lives. */
    loginSession: number
  }
  consent: { skipForFirstParty: boolean }
}

/** Where the journey's random values come from; tests pass a predictable one. */
export interface RandomSource {
  /** A 256-bit random value, base64url: secrets (login-session ids, CSRF tokens). */
  token(): string
  /** A random UUID: interaction ids (in URLs; not secrets by themselves, being bound to a browser). */
  uuid(): string
}

/** The CSPRNG, as the server uses it. */
export const SECURE_RANDOM: RandomSource = Object.freeze({ token: randomToken, uuid: () => randomUUID() })

export interface JourneyDeps {
  store: Store
  /** Where accounts are found and passwords checked (`accounts.ts`); the built-in store's users by default. */
  accounts: AccountProvider
  throttles: LoginDeps['throttles'] & {
    /** SECURITY.md 31: interactions each address may start. */
    interactionIp: Throttle
  }
  config: JourneySettings
  random: RandomSource
  /** Where the codes it mints are reported (`code.issued`); none when absent. */
  events?: EventSink
  /** The relying party and challenge key of passkey sign-ins (`passkeys.ts`); absent when passkeys are off (`pages.passkeys`). */
  passkeys?: PasskeySettings | undefined
}

/** The journey's dependencies out of an app's shared services (which hold the rest), with the CSPRNG. */
export function journeyDeps({ store, accounts, throttles, config, passkeys }: Omit<JourneyDeps, 'random'>): JourneyDeps {
  return { store, accounts, throttles, config, random: SECURE_RANDOM, passkeys }
}

/** The `acr` values this journey can satisfy (OIDC Discovery §3 `acr_values_supported`). */
export const supportedAcr = (deps: Pick<JourneyDeps, 'passkeys'>): string[] => acrValuesSupported(deps.passkeys !== undefined)

/** What a browser presented, as the hashes of its cookies (`interaction/cookies.ts` reads them). */
export interface PresentedBrowser {
  /** The browser binding the server issued, hashed; undefined when it has none. */
  bindingHash: string | undefined
  /** The login-session cookie, hashed, live or not; undefined when none. */
  sessionHash: string | undefined
}

// ---------------------------------------------------------------------------------------------
// The states and the moves between them

/**
 * Every move of an interaction's state: from which states, to which. Each is one compare-and-set
 * in the store (`InteractionStore.transitionInteraction`), which also refuses an expired one.
 */
export const TRANSITIONS = Object.freeze({
  /** The user proved who they are, in a login session. */
  authenticate: { from: ['created'], to: 'authenticated' },
  /** The user approved, had approved before, or the client is first-party. */
  consent: { from: ['authenticated'], to: 'consented' },
  /** The user said no: the client gets `access_denied`. */
  deny: { from: ['authenticated'], to: 'denied' },
  /** The code is minted: once. */
  issueCode: { from: ['consented'], to: 'code_issued' },
} as const satisfies Record<string, { from: readonly InteractionState[]; to: InteractionState }>)

export type TransitionName = keyof typeof TRANSITIONS

function move(
  deps: JourneyDeps,
  id: string,
  name: TransitionName,
  now: number,
  fields: Omit<InteractionTransition, 'state'> = {},
): Promise<InteractionRecord | undefined> {
  const { from, to } = TRANSITIONS[name]
  return deps.store.transitionInteraction(id, from, { state: to, ...fields }, now)
}

/** What an interaction waits for in each state: the page to show, or the resume that ends it. */
export type NextStep = 'login' | 'consent' | 'resume' | 'done'

export function nextStep(state: InteractionState): NextStep {
  switch (state) {
    case 'created':
      return 'login'
    case 'authenticated':
      return 'consent'
    case 'consented':
    case 'denied':
      return 'resume'
    case 'code_issued':
      return 'done'
  }
}

/** The authorization request an interaction carries. */
export function requestOf(interaction: InteractionRecord): AuthorizationRequest {
  return JSON.parse(interaction.request) as AuthorizationRequest
}

/**
 * SECURITY.md 30: from `authenticated` until its code is issued, an interaction lives only as long
 * as the login session it was authenticated in: after sign-out, or a sign-in as someone else in
 * that browser, its consent and its code are refused.
 */
export function heldBySession(interaction: InteractionRecord, session: LoginSessionRecord | undefined): boolean {
  if (interaction.state !== 'authenticated' && interaction.state !== 'consented') return true
  return session !== undefined && interaction.sessionHash === session.idHash && interaction.userId === session.userId
}

// ---------------------------------------------------------------------------------------------
// Start: the authorization endpoint's decision after validation

/** What to do with a validated request, given the browser's login session and the user's consent. */
export type AuthorizationDecision =
  | { kind: 'issue'; userId: string; authTime: number }
  | { kind: 'login' }
  | { kind: 'consent'; userId: string; authTime: number }
  /** `prompt=none` and an interaction would be needed: `login_required` or `consent_required`. */
  | { kind: 'refused'; error: OAuthError }

export interface DecisionInput {
  request: AuthorizationRequest
  client: ClientRecord
  session: LoginSessionRecord | undefined
  /** The user's consent to this client, when there is a session. */
  consent: ConsentRecord | undefined
  skipConsentForFirstParty: boolean
  now: number
  /** The `acr` values the server can satisfy (`supportedAcr`); only the password's when absent. */
  acrValuesSupported?: readonly string[]
}

/** True when the user must be asked, given what they already granted. */
export function consentNeeded(input: Pick<DecisionInput, 'request' | 'client' | 'consent' | 'skipConsentForFirstParty'>): boolean {
  if (input.request.prompt.includes('consent')) return true
  if (input.client.firstParty && input.skipConsentForFirstParty) return false
  // RFC 8707: a consent records scopes, not where they may be used; a request that names resources
  // is shown to the user each time, so the page says which resource the access is for.
  if ((input.request.resources?.length ?? 0) > 0) return true
  return input.consent === undefined || !coversScopes(input.consent.scopes, input.request.scopes)
}

/**
 * OIDC Core §3.1.2.3: authenticate unless a login session satisfies `prompt` and `max_age`, then
 * ask for consent unless it was given; `prompt=none` turns every needed interaction into a refusal.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#Authenticates
 */
export function decideAuthorization(input: DecisionInput): AuthorizationDecision {
  const { request, session, now } = input
  // OIDC Core §3.1.2.1: "max_age=0 is equivalent to prompt=login", even within the second of a login.
  // `acr_values` the session's sign-in does not meet (a password where a passkey is asked for) ask for a new one: step-up.
  const sessionUsable =
    session !== undefined &&
    !request.prompt.includes('login') &&
    (request.maxAge === undefined || (request.maxAge > 0 && now - session.authTime <= request.maxAge)) &&
    satisfiesAcr(request.acrValues, session.amr, input.acrValuesSupported ?? [ACR.password])
  if (request.prompt.includes('none')) {
    if (!sessionUsable) return { kind: 'refused', error: loginRequired('the user is not signed in') }
    if (consentNeeded(input)) return { kind: 'refused', error: consentRequired('the user has not consented to the requested scopes') }
    return { kind: 'issue', userId: session.userId, authTime: session.authTime }
  }
  if (!sessionUsable) return { kind: 'login' }
  if (consentNeeded(input)) return { kind: 'consent', userId: session.userId, authTime: session.authTime }
  return { kind: 'issue', userId: session.userId, authTime: session.authTime }
}

/**
 * Where the authorization request came from. Today only the front channel (`/authorize`, query or
 * form). PAR (RFC 9126) adds `{ via: 'pushed'; requestUri: string }`: the endpoint redeems the
 * pushed request (single use, SECURITY.md 33) and the journey starts from it the same way.
 */
export type RequestOrigin = { via: 'front_channel' }

export interface StartInput {
  /** The validated request (`validateAuthorizationRequest`), its redirect URI trusted. */
  request: AuthorizationRequest
  client: ClientRecord
  origin: RequestOrigin
  browser: {
    /** The login-session cookie, hashed; undefined when none. */
    sessionHash: string | undefined
    /**
     * The browser binding's hash, made (its cookie set) when the browser has none: asked for only
     * when an interaction is stored, so a code issued at once or a refusal sets no cookie.
     */
    bind: () => string
  }
  /** The caller's address (SECURITY.md 31). */
  ip: string
  now: number
}

export type Started =
  /** A login session and a consent were enough: the code, for the trusted redirect URI. */
  | { kind: 'code'; request: AuthorizationRequest; code: string }
  /** The user has a page to see: the interaction, in `created` (login) or `authenticated` (consent). */
  | { kind: 'interaction'; interaction: InteractionRecord }
  /** `prompt=none` and the user would have to act: the error for the client. */
  | { kind: 'refused'; error: OAuthError }
  /** SECURITY.md 31: this address started too many sign-ins; retry after `retryAfter` seconds. */
  | { kind: 'busy'; retryAfter: number }

/**
 * The start of the journey (RFC 6749 §4.1.1): decide, then issue a code at once or store an
 * interaction for the pages, bound to this browser and, when consent is asked of a signed-in user,
 * to her login session.
 */
export async function startJourney(deps: JourneyDeps, input: StartInput): Promise<Started> {
  const { request, client, now } = input
  const session = await currentSession(deps, input.browser.sessionHash, now)
  const consent = session === undefined ? undefined : await deps.store.getConsent(session.userId, client.clientId)
  const decision = decideAuthorization({
    request,
    client,
    session,
    consent,
    skipConsentForFirstParty: deps.config.consent.skipForFirstParty,
    now,
    acrValuesSupported: supportedAcr(deps),
  })
  if (decision.kind === 'refused') return decision
  if (decision.kind === 'issue') return { kind: 'code', request, code: await mint(deps, request, { ...decision, sid: session?.sid, amr: session?.amr }, now) }

  // SECURITY.md 31: anonymous requests store interactions, so each address gets a bounded number.
  const allowed = await deps.throttles.interactionIp.reserve(input.ip, now)
  if (!allowed.reserved) return { kind: 'busy', retryAfter: allowed.retryAfter }
  const signedIn = decision.kind === 'consent'
  const interaction: InteractionRecord = {
    id: deps.random.uuid(),
    clientId: client.clientId,
    request: JSON.stringify(request),
    state: signedIn ? 'authenticated' : 'created',
    csrfToken: deps.random.token(),
    browserHash: input.browser.bind(),
    userId: signedIn ? decision.userId : null,
    authTime: signedIn ? decision.authTime : null,
    // Consent asked of the signed-in user: the session must still be there when she answers.
    sessionHash: signedIn ? (session?.idHash ?? null) : null,
    createdAt: now,
    expiresAt: now + deps.config.lifetimes.interaction,
  }
  await deps.store.createInteraction(interaction)
  return { kind: 'interaction', interaction }
}

/**
 * Mints the code and its grant, which keeps the login session's `sid` (OpenID Back-Channel Logout:
 * the session's clients) and `amr` (a session from before `amr` was kept was by password).
 */
const mint = (
  deps: JourneyDeps,
  request: AuthorizationRequest,
  user: { userId: string; authTime: number; sid: string | undefined; amr: string[] | undefined },
  now: number,
) => issueAuthorizationCode(deps.store, request, { ...user, amr: user.amr ?? [...PASSWORD_AMR] }, deps.config.lifetimes.code, now, deps.events)

// ---------------------------------------------------------------------------------------------
// Opening an interaction: the checks before every page and every resume

/** Why an interaction cannot be used from this browser. */
export type Unusable =
  /** It never existed, has expired, or ended with a sign-out. */
  | { kind: 'missing' }
  /** It was started in another browser (a leaked or planted link). */
  | { kind: 'other_browser' }
  /** SECURITY.md 30: its login session is gone (signed out, or signed in as someone else). */
  | { kind: 'signed_out' }
  /** The client that started it is no longer registered. */
  | { kind: 'client_removed' }

/** An interaction this browser may act on: what `openInteraction` returns, and the steps take. */
export interface OpenInteraction {
  kind: 'open'
  interaction: InteractionRecord
  client: ClientRecord
  request: AuthorizationRequest
  /** The browser's live login session, if any. */
  session: LoginSessionRecord | undefined
}

/** The values `openInteraction` made: the steps accept no other (a caller cannot skip the checks). */
const opened = new WeakSet<OpenInteraction>()

function checkOpened(value: OpenInteraction): void {
  if (!opened.has(value)) throw new TypeError('the interaction was not opened with openInteraction')
}

/**
 * Loads an interaction for this browser: it exists and has not expired, it was started in this
 * browser, from `authenticated` on it is still held by its login session (SECURITY.md 30), and its
 * client is still registered, checked in that order.
 */
export async function openInteraction(
  deps: JourneyDeps,
  input: { id: string; browser: PresentedBrowser; now: number },
): Promise<OpenInteraction | Unusable> {
  const { browser, now } = input
  const interaction = await deps.store.getInteraction(input.id, now)
  if (interaction === undefined) return { kind: 'missing' }
  if (browser.bindingHash !== interaction.browserHash) return { kind: 'other_browser' }
  const session = await currentSession(deps, browser.sessionHash, now)
  if (!heldBySession(interaction, session)) return { kind: 'signed_out' }
  const client = await deps.store.getClient(interaction.clientId)
  if (client === undefined) return { kind: 'client_removed' }
  const open: OpenInteraction = { kind: 'open', interaction, client, request: requestOf(interaction), session }
  opened.add(open)
  return open
}

/** What the interaction's page shows now. */
export type InteractionView =
  /** The login form, the username filled in from `login_hint` or the browser's signed-in user. */
  | { kind: 'login'; usernameHint: string | undefined }
  /** The consent form, for the user the page names (`displayName`). */
  | { kind: 'consent'; userName: string | undefined }
  /** Answered: on to `resume`. */
  | { kind: 'resume' }
  /** The code was issued: nothing left to do. */
  | { kind: 'done' }

export async function viewInteraction(deps: JourneyDeps, open: OpenInteraction): Promise<InteractionView> {
  checkOpened(open)
  const { interaction, request, session } = open
  const step = nextStep(interaction.state)
  switch (step) {
    case 'login': {
      const signedIn = request.loginHint !== undefined || session === undefined ? undefined : await deps.accounts.findById(session.userId)
      return { kind: 'login', usernameHint: request.loginHint ?? signedIn?.username }
    }
    case 'consent': {
      const account = interaction.userId === null ? undefined : await deps.accounts.findById(interaction.userId)
      return { kind: 'consent', userName: account === undefined ? undefined : await displayName(deps.accounts, account) }
    }
    case 'resume':
    case 'done':
      return { kind: step }
  }
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out of a browser (login sessions)

/**
 * How the user proves who they are: a password, checked by `protocol/login.ts` (throttled,
 * SECURITY.md 7 and 27), or a passkey, verified by `protocol/passkeys.ts` (`credential`: the JSON
 * the browser posted, for a challenge bound to this browser). Each gives the sign-in its `amr`.
 */
export type Proof = ({ method: 'password' } & LoginAttempt) | { method: 'passkey'; credential: string | undefined }

type ProofResult =
  | { kind: 'valid'; user: Account; amr: string[] }
  | { kind: 'throttled'; retryAfter: number }
  | { kind: 'invalid' }
  | { kind: 'refused'; reason: PasskeyRefusal; userId: string | null }

async function verifyProof(deps: JourneyDeps, proof: Proof, browserHash: string, now: number): Promise<ProofResult> {
  switch (proof.method) {
    case 'password': {
      const result = await checkLogin(deps, proof, now)
      return result.kind === 'valid' ? { ...result, amr: [...PASSWORD_AMR] } : result
    }
    case 'passkey':
      if (deps.passkeys === undefined) return { kind: 'refused', reason: 'malformed', userId: null }
      return verifyPasskeySignIn({ ...deps, passkeys: deps.passkeys }, { credential: proof.credential, browserHash, now })
  }
}

/** A login session just started: the cookie's value goes to the browser once; the store keeps its hash. */
export interface NewSession {
  value: string
  record: LoginSessionRecord
}

export type SignedIn =
  | { kind: 'signed_in'; user: Account; session: NewSession }
  /** Too many failures: wait `retryAfter` seconds. */
  | { kind: 'throttled'; retryAfter: number }
  /** Unknown user or wrong password: deliberately the same answer. */
  | { kind: 'invalid' }
  /** A passkey refused (`reason` for the audit trail; the page says what it says of a wrong password). */
  | { kind: 'refused'; reason: PasskeyRefusal; userId: string | null }

/**
 * Signs a browser in: checks the proof, then starts a login session in this browser, replacing
 * every session it had (whoever they were for, SECURITY.md 30) and the one it presented.
 */
export async function signIn(
  deps: JourneyDeps,
  input: { proof: Proof; browser: { bindingHash: string; sessionHash: string | undefined }; now: number },
): Promise<SignedIn> {
  const { proof, browser, now } = input
  const verified = await verifyProof(deps, proof, browser.bindingHash, now)
  if (verified.kind !== 'valid') return verified
  const { user, amr } = verified
  await deps.store.deleteBrowserSessions(browser.bindingHash, browser.sessionHash)
  const value = deps.random.token()
  const record: LoginSessionRecord = {
    idHash: hashToken(value),
    userId: user.id,
    authTime: now,
    createdAt: now,
    expiresAt: now + deps.config.lifetimes.loginSession,
    browserHash: browser.bindingHash,
    // Public (in ID tokens and logout tokens), so random and unrelated to the cookie's value.
    sid: deps.random.uuid(),
    amr,
  }
  await deps.store.createLoginSession(record)
  return { kind: 'signed_in', user, session: { value, record } }
}

/**
 * What a sign-out ended: the login sessions (their users and `sid`s), and the back-channel logout
 * tokens queued for the clients they signed in to (`protocol/backchannel-logout.ts` delivers them).
 */
export type SignedOut = { kind: 'signed_out' } & SignOutResult

/**
 * Signs a browser out (SECURITY.md 30): every login session it started, the one it presented, and
 * every interaction it started go, in one transaction, which also queues one logout token for each
 * client signed in to in those sessions that has a back-channel logout URI (OpenID Back-Channel
 * Logout §2.5; the RP-initiated logout of `end-session.ts` and the account page's sign-out both
 * come here).
 */
export async function signOut(deps: JourneyDeps, browser: PresentedBrowser, now: number): Promise<SignedOut> {
  return { kind: 'signed_out', ...(await deps.store.signOutBrowser(browser.bindingHash, browser.sessionHash, now)) }
}

/**
 * The live login session of the presented cookie hash, if any. The store answers only while the
 * session's user row is not disabled; another provider's account is asked for too (`liveAccount`:
 * found disabled or gone, its sessions end).
 */
export async function currentSession(deps: JourneyDeps, sessionHash: string | undefined, now: number): Promise<LoginSessionRecord | undefined> {
  const session = sessionHash === undefined ? undefined : await deps.store.getLoginSession(sessionHash, now)
  if (session === undefined || keepsOwnRows(deps.accounts)) return session
  return (await liveAccount(deps, session.userId, now)) === undefined ? undefined : session
}

/** The live login session of the presented cookie hash and its account, while both may be used. */
export async function signedInAccount(
  deps: JourneyDeps,
  sessionHash: string | undefined,
  now: number,
): Promise<{ session: LoginSessionRecord; account: Account } | undefined> {
  const session = sessionHash === undefined ? undefined : await deps.store.getLoginSession(sessionHash, now)
  const account = session === undefined ? undefined : await liveAccount(deps, session.userId, now)
  return session === undefined || account === undefined ? undefined : { session, account }
}

// ---------------------------------------------------------------------------------------------
// After login, after consent, resume

export type AfterLogin =
  /** The user must be asked: the interaction waits in `authenticated`. */
  | { kind: 'consent_needed'; interaction: InteractionRecord }
  /** No consent needed (given before, or first-party): on to `resume`. */
  | { kind: 'consented'; interaction: InteractionRecord }
  /** It is no longer `created` or has expired meanwhile (a double or late submit): nothing moved. */
  | { kind: 'stale' }
  /** The sign-in does not meet the request's `acr_values` (a password where a passkey is asked for): it stays `created`. */
  | { kind: 'step_up' }

/**
 * After the user signed in on the interaction's login page (`signIn`): `created → authenticated`,
 * bound to the new login session, then `→ consented` at once when no consent is needed. A sign-in
 * weaker than the request's `acr_values` asks for moves nothing (step-up: sign in with a passkey).
 */
export async function afterLogin(deps: JourneyDeps, input: { open: OpenInteraction; session: LoginSessionRecord; now: number }): Promise<AfterLogin> {
  const { open, session, now } = input
  checkOpened(open)
  const { client, request } = open
  if (!satisfiesAcr(request.acrValues, session.amr, supportedAcr(deps))) return { kind: 'step_up' }
  const authenticated = await move(deps, open.interaction.id, 'authenticate', now, {
    userId: session.userId,
    authTime: session.authTime,
    sessionHash: session.idHash,
  })
  if (authenticated === undefined) return { kind: 'stale' }
  const consent = await deps.store.getConsent(session.userId, client.clientId)
  if (consentNeeded({ request, client, consent, skipConsentForFirstParty: deps.config.consent.skipForFirstParty })) {
    return { kind: 'consent_needed', interaction: authenticated }
  }
  // Lost only to a concurrent move, which `resume` then sorts out.
  return { kind: 'consented', interaction: (await move(deps, authenticated.id, 'consent', now)) ?? authenticated }
}

export type ConsentAnswer = 'approve' | 'deny'

export type Answered =
  /** Approved: remembered for the next request, on to `resume`. */
  | { kind: 'approved'; interaction: InteractionRecord }
  /** Denied: on to `resume`, which sends `access_denied`; not remembered. */
  | { kind: 'denied'; interaction: InteractionRecord }
  /** Already answered, or expired (a double or late submit): nothing moved, nothing saved. */
  | { kind: 'stale' }

/**
 * The user's answer on the consent page: `authenticated → consented | denied`. An approval is
 * remembered only when it is the answer that counted (not a late or concurrent second one).
 */
export async function answerConsent(deps: JourneyDeps, input: { open: OpenInteraction; answer: ConsentAnswer; now: number }): Promise<Answered> {
  const { open, answer, now } = input
  checkOpened(open)
  if (open.interaction.userId === null) return { kind: 'stale' }
  const moved = await move(deps, open.interaction.id, answer === 'approve' ? 'consent' : 'deny', now)
  if (moved === undefined || moved.userId === null) return { kind: 'stale' }
  if (answer === 'deny') return { kind: 'denied', interaction: moved }
  await deps.store.saveConsent(moved.userId, moved.clientId, requestOf(moved).scopes, now)
  return { kind: 'approved', interaction: moved }
}

export type Resumed =
  | Unusable
  /** Login or consent still to do: back to the interaction's page. */
  | { kind: 'pending'; interaction: InteractionRecord }
  /** The user said no: `access_denied` for the client. */
  | { kind: 'denied'; request: AuthorizationRequest }
  /** `consented → code_issued`: the code, for the trusted redirect URI. */
  | { kind: 'code'; request: AuthorizationRequest; code: string }
  /** The code was issued already (a replayed or concurrent resume): nothing minted. */
  | { kind: 'replayed' }

/** The end of the journey: where the pages hand back, and the code is minted, once. */
export async function resume(deps: JourneyDeps, input: { id: string; browser: PresentedBrowser; now: number }): Promise<Resumed> {
  const open = await openInteraction(deps, input)
  if (open.kind !== 'open') return open
  const { interaction, request } = open
  switch (nextStep(interaction.state)) {
    case 'login':
    case 'consent':
      return { kind: 'pending', interaction }
    case 'done':
      return { kind: 'replayed' }
    case 'resume':
      break
  }
  if (interaction.state === 'denied') return { kind: 'denied', request }
  const completed = await move(deps, interaction.id, 'issueCode', input.now)
  if (completed === undefined || completed.userId === null || completed.authTime === null) return { kind: 'replayed' }
  // The session that holds the interaction (`openInteraction` checked it) is the one authorized in.
  const sid = open.session?.sid
  return { kind: 'code', request, code: await mint(deps, request, { userId: completed.userId, authTime: completed.authTime, sid, amr: open.session?.amr }, input.now) }
}
