/**
 * The sign-in journey, step by step, on the in-memory store at a fixed clock: every transition and
 * every refusal (wrong state, expired, another browser, signed out, double submit, replayed resume,
 * denied, client removed). The same behaviours over HTTP are in `test/http/interaction.test.ts`,
 * `authorize.test.ts` and `abuse.test.ts`.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { hashPassword, hashToken } from '../tokens/secrets.js'
import { StoreAccounts } from './accounts.js'
import type { AuthorizationRequest } from './authorize.js'
import {
  TRANSITIONS,
  afterLogin,
  answerConsent,
  decideAuthorization,
  nextStep,
  openInteraction,
  resume,
  signIn,
  signOut,
  signedInAccount,
  startJourney,
  viewInteraction,
  type JourneyDeps,
  type OpenInteraction,
  type PresentedBrowser,
  type StartInput,
} from './journey.js'
import { Throttle } from './rate-limit.js'
import type { ClientRecord, InteractionRecord, LoginSessionRecord, UserRecord } from './store.js'

const NOW = 1_700_000_000
const LIFETIMES = { code: 300, interaction: 900, loginSession: 86_400 }
const PASSWORD = 'correct horse battery staple'

/** Two browsers, as the hashes of their binding cookies. */
const BROWSER_A = 'browser-a'
const BROWSER_B = 'browser-b'

let passwordHash: string
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD)
})

const CLIENT: ClientRecord = {
  clientId: 'rp',
  name: 'Relying Party',
  secretHash: null,
  redirectUris: ['https://rp.example/cb'],
  scopes: ['openid', 'profile', 'email'],
  grantTypes: ['authorization_code', 'refresh_token'],
  idTokenSignedResponseAlg: 'RS256',
  pkceOptional: false,
  firstParty: false,
  postLogoutRedirectUris: [],
  backchannelLogoutUri: null,
  previousSecretHash: null,
  previousSecretExpiresAt: null,
  tokenEndpointAuthMethod: 'none',
  jwks: null,
  jwksUri: null,
  requirePushedAuthorizationRequests: false,
  dpopBoundAccessTokens: false,
  webOrigins: [],
  registeredDynamically: false,
  registrationAccessTokenHash: null,
  createdAt: NOW - 1000,
}

function authorizationRequest(overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    clientId: CLIENT.clientId,
    redirectUri: 'https://rp.example/cb',
    redirectUriSent: true,
    scopes: ['openid', 'profile'],
    state: 'af0ifjsldkj',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    nonce: 'n-0S6_WzA2Mj',
    prompt: [],
    maxAge: undefined,
    loginHint: undefined,
    ...overrides,
  }
}

interface World {
  store: MemoryStore
  deps: JourneyDeps
  alice: UserRecord
  bob: UserRecord
}

/** A store with the client and two users, and the journey's dependencies over it: predictable randomness. */
async function world(options: { interactionsPerIp?: number; skipForFirstParty?: boolean; firstParty?: boolean } = {}): Promise<World> {
  const store = new MemoryStore()
  await store.createClient({ ...CLIENT, firstParty: options.firstParty ?? false })
  const user = (id: string, username: string): UserRecord => ({
    id,
    username,
    passwordHash,
    name: username[0]?.toUpperCase() + username.slice(1),
    email: null,
    emailVerified: false,
    createdAt: NOW - 1000,
    updatedAt: NOW - 1000,
    disabledAt: null,
  })
  const alice = user('user-alice', 'alice')
  const bob = user('user-bob', 'bob')
  await store.createUser(alice)
  await store.createUser(bob)
  let counter = 0
  const perAccount = { max: 3, window: 900, delays: [15, 30] }
  const deps: JourneyDeps = {
    store,
    accounts: new StoreAccounts(store),
    config: { lifetimes: LIFETIMES, consent: { skipForFirstParty: options.skipForFirstParty ?? true } },
    random: { token: () => `token-${++counter}`.padEnd(43, '0'), uuid: () => `interaction-${++counter}` },
    throttles: {
      loginAccount: new Throttle(store, perAccount, 'login-account:'),
      loginIp: new Throttle(store, { max: 50, window: 900, delays: [] }, 'login-ip:'),
      loginDevice: new Throttle(store, perAccount, 'login-device:'),
      interactionIp: new Throttle(store, { max: options.interactionsPerIp ?? 100, window: 900, delays: [] }, 'interaction-ip:'),
    },
  }
  return { store, deps, alice, bob }
}

/** What `startJourney` takes, for a browser with the binding `binding` and the session cookie hash `sessionHash`. */
function startInput(
  overrides: Partial<AuthorizationRequest> = {},
  browser: { binding?: string; sessionHash?: string | undefined } = {},
  now = NOW,
): StartInput & { bound: () => number } {
  let bound = 0
  return {
    request: authorizationRequest(overrides),
    client: CLIENT,
    origin: { via: 'front_channel' },
    browser: {
      sessionHash: browser.sessionHash,
      bind: () => {
        bound++
        return browser.binding ?? BROWSER_A
      },
    },
    ip: '192.0.2.1',
    now,
    bound: () => bound,
  }
}

const presented = (bindingHash: string | undefined, session?: LoginSessionRecord): PresentedBrowser => ({
  bindingHash,
  sessionHash: session?.idHash,
})

/** Signs `user` in, in the browser `binding`, with the right password. */
async function signedIn(w: World, user: UserRecord, binding = BROWSER_A, now = NOW, previous?: LoginSessionRecord): Promise<LoginSessionRecord> {
  const result = await signIn(w.deps, {
    proof: { method: 'password', username: user.username, password: PASSWORD, ip: '192.0.2.1', device: undefined },
    browser: { bindingHash: binding, sessionHash: previous?.idHash },
    now,
  })
  if (result.kind !== 'signed_in') throw new Error(`sign-in failed: ${result.kind}`)
  return result.session.record
}

/** An interaction in `created`, started in `binding`. */
async function created(w: World, overrides: Partial<AuthorizationRequest> = {}, binding = BROWSER_A): Promise<InteractionRecord> {
  const started = await startJourney(w.deps, startInput(overrides, { binding }))
  if (started.kind !== 'interaction') throw new Error(`expected an interaction, got ${started.kind}`)
  return started.interaction
}

async function open(w: World, id: string, browser: PresentedBrowser, now = NOW): Promise<OpenInteraction> {
  const opened = await openInteraction(w.deps, { id, browser, now })
  if (opened.kind !== 'open') throw new Error(`expected it open, got ${opened.kind}`)
  return opened
}

/** An interaction taken through login by `user` in `binding`: in `authenticated` (or `consented`), with the session. */
async function loggedIn(w: World, user: UserRecord, overrides: Partial<AuthorizationRequest> = { prompt: ['consent'] }, binding = BROWSER_A) {
  const interaction = await created(w, overrides, binding)
  const session = await signedIn(w, user, binding)
  const result = await afterLogin(w.deps, { open: await open(w, interaction.id, presented(binding)), session, now: NOW })
  if (result.kind === 'stale' || result.kind === 'step_up') throw new Error(`login went ${result.kind}`)
  return { interaction: result.interaction, session, after: result }
}

/** An interaction the user approved: in `consented`. */
async function approved(w: World, user: UserRecord, binding = BROWSER_A) {
  const { interaction, session } = await loggedIn(w, user, { prompt: ['consent'] }, binding)
  const answer = await answerConsent(w.deps, { open: await open(w, interaction.id, presented(binding, session)), answer: 'approve', now: NOW })
  expect(answer.kind).toBe('approved')
  return { interaction, session }
}

describe('the states (STYLE rule 7: created → authenticated → consented → code_issued, or denied)', () => {
  it('each move has one source state and one target, and every state says what it waits for', () => {
    expect(TRANSITIONS).toEqual({
      authenticate: { from: ['created'], to: 'authenticated' },
      consent: { from: ['authenticated'], to: 'consented' },
      deny: { from: ['authenticated'], to: 'denied' },
      issueCode: { from: ['consented'], to: 'code_issued' },
    })
    expect(['created', 'authenticated', 'consented', 'denied', 'code_issued'].map((state) => nextStep(state as InteractionRecord['state']))).toEqual([
      'login',
      'consent',
      'resume',
      'resume',
      'done',
    ])
  })
})

describe('decideAuthorization (OIDC Core §3.1.2.3)', () => {
  const session: LoginSessionRecord = { idHash: 's', userId: 'u', authTime: NOW - 100, createdAt: NOW - 100, expiresAt: NOW + 1000, browserHash: BROWSER_A }
  const consent = { userId: 'u', clientId: CLIENT.clientId, scopes: ['openid', 'profile'], createdAt: NOW - 50, updatedAt: NOW - 50 }
  const decide = (overrides: Partial<AuthorizationRequest>, given: { session?: LoginSessionRecord; consent?: typeof consent; client?: ClientRecord } = {}) =>
    decideAuthorization({
      request: authorizationRequest(overrides),
      client: given.client ?? CLIENT,
      session: given.session,
      consent: given.consent,
      skipConsentForFirstParty: true,
      now: NOW,
    })

  it('OIDC Core §3.1.2.3: no session is a login; a session without consent is a consent; both is a code', () => {
    expect(decide({})).toEqual({ kind: 'login' })
    expect(decide({}, { session })).toEqual({ kind: 'consent', userId: 'u', authTime: NOW - 100 })
    expect(decide({}, { session, consent })).toEqual({ kind: 'issue', userId: 'u', authTime: NOW - 100 })
    expect(decide({ scopes: ['openid', 'email'] }, { session, consent }).kind).toBe('consent')
    expect(decide({}, { session, client: { ...CLIENT, firstParty: true } }).kind).toBe('issue')
  })

  it('OIDC Core §3.1.2.1: prompt=login and max_age=0 force a login; max_age counts from auth_time', () => {
    expect(decide({ prompt: ['login'] }, { session, consent }).kind).toBe('login')
    expect(decide({ maxAge: 0 }, { session, consent }).kind).toBe('login')
    expect(decide({ maxAge: 100 }, { session, consent }).kind).toBe('issue')
    expect(decide({ maxAge: 99 }, { session, consent }).kind).toBe('login')
    expect(decide({ prompt: ['consent'] }, { session, consent }).kind).toBe('consent')
  })

  it('OIDC Core §3.1.2.6: prompt=none is refused with login_required or consent_required where UI would be needed', () => {
    const none = (given: Parameters<typeof decide>[1]) => {
      const decision = decide({ prompt: ['none'] }, given)
      return decision.kind === 'refused' ? decision.error.error : decision.kind
    }
    expect(none({})).toBe('login_required')
    expect(none({ session })).toBe('consent_required')
    expect(none({ session, consent })).toBe('issue')
  })
})

describe('startJourney', () => {
  it('RFC 6749 §4.1.1: without a session, an interaction in created, bound to the browser, expiring with the configured lifetime', async () => {
    const w = await world()
    const input = startInput()
    const started = await startJourney(w.deps, input)
    expect(started.kind).toBe('interaction')
    const interaction = started.kind === 'interaction' ? started.interaction : undefined
    expect(interaction).toMatchObject({
      clientId: CLIENT.clientId,
      state: 'created',
      browserHash: BROWSER_A,
      userId: null,
      authTime: null,
      sessionHash: null,
      createdAt: NOW,
      expiresAt: NOW + LIFETIMES.interaction,
    })
    expect(interaction?.csrfToken).toMatch(/^token-/)
    expect(JSON.parse(interaction?.request ?? '')).toEqual(input.request)
    expect(w.store.interactions.get(interaction?.id ?? '')).toEqual(interaction)
    expect(input.bound()).toBe(1)
  })

  it('SECURITY.md 30: signed in without consent, an interaction in authenticated, bound to the login session', async () => {
    const w = await world()
    const session = await signedIn(w, w.alice, BROWSER_A, NOW - 60)
    const started = await startJourney(w.deps, startInput({}, { sessionHash: session.idHash }))
    expect(started.kind === 'interaction' && started.interaction).toMatchObject({
      state: 'authenticated',
      userId: w.alice.id,
      authTime: NOW - 60,
      sessionHash: session.idHash,
    })
  })

  it('RFC 6749 §4.1.2: signed in and consented, a code at once: minted for the user, no interaction, no browser cookie', async () => {
    const w = await world()
    const session = await signedIn(w, w.alice, BROWSER_A, NOW - 60)
    await w.store.saveConsent(w.alice.id, CLIENT.clientId, ['openid', 'profile'], NOW - 30)
    const input = startInput({}, { sessionHash: session.idHash })
    const started = await startJourney(w.deps, input)
    expect(started.kind).toBe('code')
    const code = started.kind === 'code' ? started.code : ''
    expect(w.store.codes.get(hashToken(code))).toMatchObject({ userId: w.alice.id, authTime: NOW - 60, expiresAt: NOW + LIFETIMES.code })
    expect(started.kind === 'code' && started.request).toEqual(input.request)
    expect(w.store.interactions.size).toBe(0)
    expect(input.bound()).toBe(0)
  })

  it('a session that has expired counts as none', async () => {
    const w = await world()
    const session = await signedIn(w, w.alice, BROWSER_A, NOW - LIFETIMES.loginSession)
    await w.store.saveConsent(w.alice.id, CLIENT.clientId, ['openid', 'profile'], NOW - 30)
    const started = await startJourney(w.deps, startInput({}, { sessionHash: session.idHash }))
    expect(started.kind === 'interaction' && started.interaction.state).toBe('created')
  })

  it('OIDC Core §3.1.2.6: prompt=none without a session is refused: login_required, nothing stored, no cookie', async () => {
    const w = await world()
    const input = startInput({ prompt: ['none'] })
    const started = await startJourney(w.deps, input)
    expect(started.kind === 'refused' && started.error.error).toBe('login_required')
    expect(w.store.interactions.size).toBe(0)
    expect(w.store.codes.size).toBe(0)
    expect(input.bound()).toBe(0)
  })

  it('SECURITY.md 31: past interactionsPerIp, busy with the wait, and nothing stored', async () => {
    const w = await world({ interactionsPerIp: 2 })
    expect((await startJourney(w.deps, startInput())).kind).toBe('interaction')
    expect((await startJourney(w.deps, startInput())).kind).toBe('interaction')
    const input = startInput()
    expect(await startJourney(w.deps, input)).toEqual({ kind: 'busy', retryAfter: 900 })
    expect(w.store.interactions.size).toBe(2)
    expect(input.bound()).toBe(0)
  })
})

describe('openInteraction: the checks before every page and resume', () => {
  it('opens an interaction of this browser, with its client, request and session', async () => {
    const w = await world()
    const interaction = await created(w)
    const opened = await open(w, interaction.id, presented(BROWSER_A))
    expect(opened).toMatchObject({ kind: 'open', interaction, client: CLIENT, session: undefined })
    // The request as stored (JSON): what is undefined is left out.
    expect(opened.request).toEqual(authorizationRequest())
  })

  it('refuses an unknown id, and an expired interaction', async () => {
    const w = await world()
    const interaction = await created(w)
    expect(await openInteraction(w.deps, { id: 'nope', browser: presented(BROWSER_A), now: NOW })).toEqual({ kind: 'missing' })
    const expired = NOW + LIFETIMES.interaction
    expect(await openInteraction(w.deps, { id: interaction.id, browser: presented(BROWSER_A), now: expired })).toEqual({ kind: 'missing' })
  })

  it('RFC 6749 §10.12: refuses another browser, and a browser without a binding', async () => {
    const w = await world()
    const interaction = await created(w)
    for (const binding of [BROWSER_B, undefined]) {
      expect(await openInteraction(w.deps, { id: interaction.id, browser: presented(binding), now: NOW })).toEqual({ kind: 'other_browser' })
    }
  })

  it('SECURITY.md 30: past login, refuses without its login session, or with another one', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    expect((await openInteraction(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })).kind).toBe('open')
    expect(await openInteraction(w.deps, { id: interaction.id, browser: presented(BROWSER_A), now: NOW })).toEqual({ kind: 'signed_out' })
    const other = await signedIn(w, w.bob, BROWSER_A, NOW, session)
    expect(await openInteraction(w.deps, { id: interaction.id, browser: presented(BROWSER_A, other), now: NOW })).toEqual({ kind: 'signed_out' })
    // The session it was bound to is gone, so even its old cookie opens nothing.
    expect(await openInteraction(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })).toEqual({ kind: 'signed_out' })
  })

  it('refuses an interaction whose client was removed meanwhile', async () => {
    const w = await world()
    const interaction = await created(w)
    // Removing a client cascades to its interactions; this is the race between the two reads.
    w.store.clients.delete(CLIENT.clientId)
    expect(await openInteraction(w.deps, { id: interaction.id, browser: presented(BROWSER_A), now: NOW })).toEqual({ kind: 'client_removed' })
  })

  it('the steps take only what openInteraction opened: a hand-made value is a TypeError', async () => {
    const w = await world()
    const interaction = await created(w)
    const forged: OpenInteraction = { ...(await open(w, interaction.id, presented(BROWSER_A))) }
    const session = await signedIn(w, w.alice)
    await expect(afterLogin(w.deps, { open: forged, session, now: NOW })).rejects.toThrow(TypeError)
    await expect(answerConsent(w.deps, { open: forged, answer: 'approve', now: NOW })).rejects.toThrow(TypeError)
    await expect(viewInteraction(w.deps, forged)).rejects.toThrow(TypeError)
    expect(w.store.interactions.get(interaction.id)?.state).toBe('created')
  })
})

describe('viewInteraction: what the page shows', () => {
  it('OIDC Core §3.1.2.1: login, the username from login_hint, else from the browser\'s signed-in user', async () => {
    const w = await world()
    const hinted = await created(w, { loginHint: 'carol' })
    expect(await viewInteraction(w.deps, await open(w, hinted.id, presented(BROWSER_A)))).toEqual({ kind: 'login', usernameHint: 'carol' })
    const plain = await created(w)
    expect(await viewInteraction(w.deps, await open(w, plain.id, presented(BROWSER_A)))).toEqual({ kind: 'login', usernameHint: undefined })
    const session = await signedIn(w, w.bob)
    expect(await viewInteraction(w.deps, await open(w, plain.id, presented(BROWSER_A, session)))).toEqual({ kind: 'login', usernameHint: 'bob' })
  })

  it('consent for the authenticated user, then resume, then done', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    const view = async () => viewInteraction(w.deps, await open(w, interaction.id, presented(BROWSER_A, session)))
    expect(await view()).toEqual({ kind: 'consent', userName: 'Alice' })
    await answerConsent(w.deps, { open: await open(w, interaction.id, presented(BROWSER_A, session)), answer: 'approve', now: NOW })
    expect(await view()).toEqual({ kind: 'resume' })
    await resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })
    expect(await view()).toEqual({ kind: 'done' })
  })
})

describe('signIn and signOut of a browser', () => {
  it('SECURITY.md 30: a sign-in starts a session bound to the browser and replaces every session the browser had', async () => {
    const w = await world()
    const first = await signedIn(w, w.alice, BROWSER_A, NOW - 10)
    const elsewhere = await signedIn(w, w.alice, BROWSER_B, NOW - 10)
    const result = await signIn(w.deps, {
      proof: { method: 'password', username: 'bob', password: PASSWORD, ip: '192.0.2.1', device: undefined },
      browser: { bindingHash: BROWSER_A, sessionHash: undefined },
      now: NOW,
    })
    expect(result.kind).toBe('signed_in')
    if (result.kind !== 'signed_in') return
    expect(result.user.id).toBe(w.bob.id)
    expect(result.session.record).toEqual({
      idHash: hashToken(result.session.value),
      userId: w.bob.id,
      authTime: NOW,
      createdAt: NOW,
      expiresAt: NOW + LIFETIMES.loginSession,
      browserHash: BROWSER_A,
      sid: expect.any(String),
      amr: ['pwd'],
    })
    expect([...w.store.loginSessions.keys()].sort()).toEqual([elsewhere.idHash, result.session.record.idHash].sort())
    expect(w.store.loginSessions.has(first.idHash)).toBe(false)
    expect((await signedInAccount(w.deps, result.session.record.idHash, NOW))?.account).toEqual({ id: w.bob.id, username: 'bob', disabled: false })
  })

  it('a sign-in also ends the session the browser presented, when it predates the browser binding', async () => {
    const w = await world()
    const legacy: LoginSessionRecord = { idHash: 'legacy', userId: w.alice.id, authTime: NOW - 5, createdAt: NOW - 5, expiresAt: NOW + 100, browserHash: null }
    await w.store.createLoginSession(legacy)
    await signedIn(w, w.bob, BROWSER_A, NOW, legacy)
    expect(w.store.loginSessions.has('legacy')).toBe(false)
  })

  it('SECURITY.md 7: a wrong password and an unknown user are the same answer, and start no session', async () => {
    const w = await world()
    const attempt = (username: string, password: string) =>
      signIn(w.deps, { proof: { method: 'password', username, password, ip: '192.0.2.1', device: undefined }, browser: { bindingHash: BROWSER_A, sessionHash: undefined }, now: NOW })
    expect(await attempt('alice', 'wrong')).toEqual({ kind: 'invalid' })
    expect(await attempt('nobody', PASSWORD)).toEqual({ kind: 'invalid' })
    expect(w.store.loginSessions.size).toBe(0)
  })

  it('SECURITY.md 27: past the account\'s limit the next attempt waits, the right password included', async () => {
    const w = await world()
    const attempt = (password: string) =>
      signIn(w.deps, { proof: { method: 'password', username: 'alice', password, ip: '192.0.2.1', device: undefined }, browser: { bindingHash: BROWSER_A, sessionHash: undefined }, now: NOW })
    for (let i = 0; i < 3; i++) expect((await attempt('wrong')).kind).toBe('invalid')
    expect(await attempt(PASSWORD)).toEqual({ kind: 'throttled', retryAfter: 15 })
    expect(w.store.loginSessions.size).toBe(0)
  })

  it('SECURITY.md 30: sign-out ends the browser\'s sessions and every interaction it started, and nothing of another browser', async () => {
    const w = await world()
    const mine = await loggedIn(w, w.alice)
    const pending = await created(w)
    const theirs = await loggedIn(w, w.bob, { prompt: ['consent'] }, BROWSER_B)
    expect(await signOut(w.deps, presented(BROWSER_A, mine.session), NOW)).toEqual({
      kind: 'signed_out',
      sessions: [{ userId: w.alice.id, sid: mine.session.sid }],
      logoutsQueued: 0,
      logoutsDropped: 0,
    })
    expect(w.store.interactions.has(mine.interaction.id)).toBe(false)
    expect(w.store.interactions.has(pending.id)).toBe(false)
    expect(w.store.loginSessions.has(mine.session.idHash)).toBe(false)
    expect(await signedInAccount(w.deps, mine.session.idHash, NOW)).toBeUndefined()
    expect(w.store.interactions.has(theirs.interaction.id)).toBe(true)
    expect(w.store.loginSessions.has(theirs.session.idHash)).toBe(true)
  })
})

describe('afterLogin', () => {
  it('created → authenticated, bound to the new session; consent needed: the interaction waits for it', async () => {
    const w = await world()
    const { interaction, session, after } = await loggedIn(w, w.alice)
    expect(after.kind).toBe('consent_needed')
    expect(interaction).toMatchObject({ state: 'authenticated', userId: w.alice.id, authTime: NOW, sessionHash: session.idHash })
    expect(w.store.interactions.get(interaction.id)?.state).toBe('authenticated')
  })

  it('OIDC Core §3.1.2.4: consent given before covers the scopes: straight on to consented', async () => {
    const w = await world()
    await w.store.saveConsent(w.alice.id, CLIENT.clientId, ['openid', 'profile', 'email'], NOW - 100)
    const { interaction, after } = await loggedIn(w, w.alice, {})
    expect(after.kind).toBe('consented')
    expect(interaction.state).toBe('consented')
  })

  it('OIDC Core §3.1.2.4: a first-party client skips consent, unless the configuration requires it', async () => {
    const skipping = await world({ firstParty: true })
    expect((await loggedIn(skipping, skipping.alice, {})).after.kind).toBe('consented')
    const asking = await world({ firstParty: true, skipForFirstParty: false })
    expect((await loggedIn(asking, asking.alice, {})).after.kind).toBe('consent_needed')
  })

  it('RFC 6749 §10.12: a double-submitted login moves the state once; the second is stale', async () => {
    const w = await world()
    const interaction = await created(w)
    const opened = await open(w, interaction.id, presented(BROWSER_A))
    const session = await signedIn(w, w.alice)
    const [first, second] = await Promise.all([
      afterLogin(w.deps, { open: opened, session, now: NOW }),
      afterLogin(w.deps, { open: opened, session, now: NOW }),
    ])
    expect([first.kind, second.kind].sort()).toEqual(['consent_needed', 'stale'])
  })

  it('an interaction that expired while the user typed is stale', async () => {
    const w = await world()
    const interaction = await created(w)
    const opened = await open(w, interaction.id, presented(BROWSER_A))
    const late = NOW + LIFETIMES.interaction
    const session = await signedIn(w, w.alice, BROWSER_A, late)
    expect(await afterLogin(w.deps, { open: opened, session, now: late })).toEqual({ kind: 'stale' })
    expect(w.store.interactions.get(interaction.id)?.state).toBe('created')
  })
})

describe('answerConsent', () => {
  it('OIDC Core §3.1.2.4: approve moves to consented and remembers the scopes for the user and client', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    const answered = await answerConsent(w.deps, { open: await open(w, interaction.id, presented(BROWSER_A, session)), answer: 'approve', now: NOW })
    expect(answered.kind === 'approved' && answered.interaction.state).toBe('consented')
    expect(await w.store.getConsent(w.alice.id, CLIENT.clientId)).toMatchObject({ scopes: ['openid', 'profile'], createdAt: NOW })
  })

  it('RFC 6749 §4.1.2.1: deny moves to denied and remembers nothing', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    const answered = await answerConsent(w.deps, { open: await open(w, interaction.id, presented(BROWSER_A, session)), answer: 'deny', now: NOW })
    expect(answered.kind === 'denied' && answered.interaction.state).toBe('denied')
    expect(await w.store.getConsent(w.alice.id, CLIENT.clientId)).toBeUndefined()
  })

  it('RFC 6749 §4.1.2: a double-submitted answer counts once; a late deny after approve changes nothing', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    const opened = await open(w, interaction.id, presented(BROWSER_A, session))
    const answers = await Promise.all([
      answerConsent(w.deps, { open: opened, answer: 'approve', now: NOW }),
      answerConsent(w.deps, { open: opened, answer: 'deny', now: NOW + 1 }),
    ])
    expect(answers.map((answer) => answer.kind)).toEqual(['approved', 'stale'])
    expect(w.store.interactions.get(interaction.id)?.state).toBe('consented')
    expect((await answerConsent(w.deps, { open: opened, answer: 'approve', now: NOW + 2 })).kind).toBe('stale')
    expect((await w.store.getConsent(w.alice.id, CLIENT.clientId))?.updatedAt).toBe(NOW)
  })

  it('wrong state: an interaction still in created cannot be answered', async () => {
    const w = await world()
    const interaction = await created(w)
    const answered = await answerConsent(w.deps, { open: await open(w, interaction.id, presented(BROWSER_A)), answer: 'approve', now: NOW })
    expect(answered).toEqual({ kind: 'stale' })
    expect(w.store.interactions.get(interaction.id)?.state).toBe('created')
  })

  it('an answer after the interaction expired is stale and saves nothing', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    const opened = await open(w, interaction.id, presented(BROWSER_A, session))
    expect(await answerConsent(w.deps, { open: opened, answer: 'approve', now: NOW + LIFETIMES.interaction })).toEqual({ kind: 'stale' })
    expect(await w.store.getConsent(w.alice.id, CLIENT.clientId)).toBeUndefined()
  })
})

describe('resume: where the code is minted, once', () => {
  it('RFC 6749 §4.1.2: consented → code_issued, with a code for the user at the time she authenticated', async () => {
    const w = await world()
    const { interaction, session } = await approved(w, w.alice)
    const resumed = await resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW + 5 })
    expect(resumed.kind).toBe('code')
    if (resumed.kind !== 'code') return
    expect(resumed.request).toEqual(authorizationRequest({ prompt: ['consent'] }))
    expect(w.store.codes.get(hashToken(resumed.code))).toMatchObject({
      clientId: CLIENT.clientId,
      userId: w.alice.id,
      authTime: NOW,
      createdAt: NOW + 5,
      expiresAt: NOW + 5 + LIFETIMES.code,
    })
    expect(w.store.interactions.get(interaction.id)?.state).toBe('code_issued')
  })

  it('RFC 6749 §4.1.2: a replayed or concurrent resume mints no second code', async () => {
    const w = await world()
    const { interaction, session } = await approved(w, w.alice)
    const again = () => resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })
    const results = await Promise.all([again(), again()])
    expect(results.map((result) => result.kind).sort()).toEqual(['code', 'replayed'])
    expect(await again()).toEqual({ kind: 'replayed' })
    expect(w.store.codes.size).toBe(1)
  })

  it('RFC 6749 §4.1.2.1: denied is access_denied for the request, every time, and mints nothing', async () => {
    const w = await world()
    const { interaction, session } = await loggedIn(w, w.alice)
    await answerConsent(w.deps, { open: await open(w, interaction.id, presented(BROWSER_A, session)), answer: 'deny', now: NOW })
    for (let i = 0; i < 2; i++) {
      expect(await resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })).toEqual({
        kind: 'denied',
        request: authorizationRequest({ prompt: ['consent'] }),
      })
    }
    expect(w.store.codes.size).toBe(0)
  })

  it('login or consent still to do: pending, nothing minted', async () => {
    const w = await world()
    const fresh = await created(w)
    expect((await resume(w.deps, { id: fresh.id, browser: presented(BROWSER_A), now: NOW })).kind).toBe('pending')
    const { interaction, session } = await loggedIn(w, w.alice)
    expect((await resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })).kind).toBe('pending')
    expect(w.store.codes.size).toBe(0)
  })

  it('SECURITY.md 30: after sign-out the resume link mints nothing', async () => {
    const w = await world()
    const { interaction, session } = await approved(w, w.alice)
    await signOut(w.deps, presented(BROWSER_A, session), NOW)
    expect(await resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, session), now: NOW })).toEqual({ kind: 'missing' })
    expect(w.store.codes.size).toBe(0)
  })

  it('SECURITY.md 30: after a sign-in as someone else in that browser the resume link mints nothing', async () => {
    const w = await world()
    const { interaction, session } = await approved(w, w.alice)
    const bob = await signedIn(w, w.bob, BROWSER_A, NOW, session)
    expect(await resume(w.deps, { id: interaction.id, browser: presented(BROWSER_A, bob), now: NOW })).toEqual({ kind: 'signed_out' })
    expect(w.store.interactions.get(interaction.id)?.state).toBe('consented')
    expect(w.store.codes.size).toBe(0)
  })

  it('RFC 6749 §10.12: from another browser, after expiry, or with the client removed, nothing is minted', async () => {
    const w = await world()
    const { interaction, session } = await approved(w, w.alice)
    const at = (browser: PresentedBrowser, now = NOW) => resume(w.deps, { id: interaction.id, browser, now })
    expect(await at(presented(BROWSER_B, session))).toEqual({ kind: 'other_browser' })
    expect(await at(presented(BROWSER_A, session), NOW + LIFETIMES.interaction)).toEqual({ kind: 'missing' })
    w.store.clients.delete(CLIENT.clientId)
    expect(await at(presented(BROWSER_A, session))).toEqual({ kind: 'client_removed' })
    expect(w.store.codes.size).toBe(0)
    expect(w.store.interactions.get(interaction.id)?.state).toBe('consented')
  })
})

describe('the whole journey', () => {
  it('RFC 6749 §4.1: start, login, consent, resume; the next request of the same browser gets its code at once', async () => {
    const w = await world()
    const started = await startJourney(w.deps, startInput())
    if (started.kind !== 'interaction') throw new Error(started.kind)
    const session = await signedIn(w, w.alice)
    const login = await afterLogin(w.deps, { open: await open(w, started.interaction.id, presented(BROWSER_A)), session, now: NOW })
    expect(login.kind).toBe('consent_needed')
    const answer = await answerConsent(w.deps, { open: await open(w, started.interaction.id, presented(BROWSER_A, session)), answer: 'approve', now: NOW })
    expect(answer.kind).toBe('approved')
    expect((await resume(w.deps, { id: started.interaction.id, browser: presented(BROWSER_A, session), now: NOW })).kind).toBe('code')

    const next = startInput({}, { sessionHash: session.idHash }, NOW + 60)
    expect((await startJourney(w.deps, next)).kind).toBe('code')
    expect(w.store.codes.size).toBe(2)
  })
})
