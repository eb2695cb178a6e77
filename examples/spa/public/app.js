// The single-page app: a public client (no secret) that signs in with the authorization code flow
// and PKCE S256, state and nonce, all done in this tab with oauth4webapi (IETF OAuth 2.0 for
// Browser-Based Apps). The tokens live in this module's memory only: never in storage, a cookie or
// a URL, and a reload means signing in again (the server remembers the sign-in and the consent).
// What survives the redirect to the server and back is the login attempt (verifier, state, nonce)
// in sessionStorage, for this tab only, removed as soon as the callback is handled.
import * as oauth from '/vendor/oauth4webapi.js'

const PENDING = 'authcode-spa-login'
const LOGOUT = 'authcode-spa-logout'
const SCOPE = 'openid profile email'

/** @type {{ issuer: string, clientId: string, redirectUri: string, postLogoutRedirectUri: string }} */
const config = await (await fetch('/config.json')).json()
const issuer = new URL(config.issuer)
/** @type {oauth.Client} */
const client = { client_id: config.clientId }
const clientAuth = oauth.None()
// Plain http only to an authorization server on this machine (development); https everywhere else.
const local = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname)
const options = local ? { [oauth.allowInsecureRequests]: true } : {}

/** The session: kept in memory only. */
let session = /** @type {{ accessToken: string, refreshToken?: string, expiresAt: number, scope: string, sub: string } | undefined} */ (undefined)
let refreshes = 0

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

function show(signedIn) {
  $('signed-in').hidden = !signedIn
  $('signed-out').hidden = signedIn
}
function status(text) {
  $('status').textContent = text
}
function fail(error) {
  // Only the error's code and description: never a token or a code.
  const text = error instanceof oauth.ResponseBodyError || error instanceof oauth.AuthorizationResponseError
    ? `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`
    : error instanceof Error ? error.message : String(error)
  $('error').textContent = text
  $('error').hidden = false
}
function clearError() {
  $('error').hidden = true
  $('error').textContent = ''
}

/** RFC 8414: the server's endpoints, from its metadata. */
async function discover() {
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options })
  return oauth.processDiscoveryResponse(issuer, response)
}

/** RFC 6749 §4.1.1 with RFC 7636: a fresh verifier, state and nonce per attempt; the browser goes to the server. */
async function login(as) {
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  sessionStorage.setItem(PENDING, JSON.stringify({ codeVerifier, state, nonce }))
  const url = new URL(/** @type {string} */ (as.authorization_endpoint))
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: config.redirectUri,
    scope: SCOPE,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  }).toString()
  location.assign(url.href)
}

/** RFC 6749 §4.1.2 and §4.1.3: checks state and iss (RFC 9207), then redeems the code with the verifier. */
async function handleCallback(as, currentUrl) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null')
  sessionStorage.removeItem(PENDING)
  // The code leaves the address bar (and the history) before anything else happens.
  history.replaceState(null, '', '/')
  if (pending === null) throw new Error('This sign-in was not started here, or was already used: log in again.')
  const params = oauth.validateAuthResponse(as, client, currentUrl, pending.state)
  const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, config.redirectUri, pending.codeVerifier, options)
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true })
  const claims = /** @type {oauth.IDToken} */ (oauth.getValidatedIdTokenClaims(result))
  keep(result, claims.sub)
}

function keep(result, sub) {
  session = {
    accessToken: result.access_token,
    refreshToken: result.refresh_token ?? session?.refreshToken,
    expiresAt: Date.now() + (result.expires_in ?? 0) * 1000,
    scope: result.scope ?? SCOPE,
    sub,
  }
}

/** OpenID Connect Core §5.3: the user's claims, with the access token as a Bearer token. */
async function userinfo(as) {
  if (session === undefined) return
  const response = await oauth.userInfoRequest(as, client, session.accessToken, options)
  const claims = await oauth.processUserInfoResponse(as, client, session.sub, response)
  $('name').textContent = String(claims.name ?? '')
  $('email').textContent = String(claims.email ?? '')
  $('sub').textContent = claims.sub
  $('scopes').textContent = session.scope
  const expiry = $('expiry')
  const time = document.createElement('time')
  time.dateTime = new Date(session.expiresAt).toISOString()
  time.textContent = new Date(session.expiresAt).toLocaleTimeString()
  expiry.replaceChildren(time)
  $('refreshes').textContent = `${refreshes} ${refreshes === 1 ? 'time' : 'times'}`
  show(true)
}

/** RFC 6749 §6: a new access token; the refresh token rotates (the old one is spent). */
async function refresh(as) {
  if (session?.refreshToken === undefined) throw new Error('No refresh token: log in again.')
  const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, session.refreshToken, options)
  const result = await oauth.processRefreshTokenResponse(as, client, response)
  keep(result, session.sub)
  refreshes += 1
}

/** RFC 7009 (the refresh token, and with it every token of the sign-in), then OpenID RP-Initiated Logout when offered. */
async function logout(as) {
  const token = session?.refreshToken ?? session?.accessToken
  session = undefined
  show(false)
  if (token !== undefined) {
    const response = await oauth.revocationRequest(as, client, clientAuth, token, options)
    await oauth.processRevocationResponse(response)
  }
  if (typeof as.end_session_endpoint === 'string') {
    // No id_token_hint: the ID token stays out of URLs, so the server asks the user to confirm.
    const state = oauth.generateRandomState()
    sessionStorage.setItem(LOGOUT, state)
    const url = new URL(as.end_session_endpoint)
    url.search = new URLSearchParams({ client_id: client.client_id, post_logout_redirect_uri: config.postLogoutRedirectUri, state }).toString()
    location.assign(url.href)
    return
  }
  status('You are signed out.')
}

/** Runs a button's action; an error shows as text, the buttons stay usable. */
function on(id, action) {
  $(id).addEventListener('click', async () => {
    clearError()
    try {
      await action()
    } catch (error) {
      fail(error)
    }
  })
}

async function main() {
  let as
  try {
    as = await discover()
  } catch (error) {
    status('The authorization server cannot be reached.')
    fail(error)
    return
  }
  on('login', () => login(as))
  on('userinfo', async () => {
    await userinfo(as)
    status('Called userinfo.')
  })
  on('refresh', async () => {
    await refresh(as)
    await userinfo(as)
    status('The tokens were refreshed.')
  })
  on('logout', () => logout(as))

  const currentUrl = new URL(location.href)
  const params = currentUrl.searchParams
  if (params.has('code') || params.has('error')) {
    try {
      await handleCallback(as, currentUrl)
      await userinfo(as)
      status('Signed in.')
      return
    } catch (error) {
      fail(error)
    }
  } else if (params.has('signedOut')) {
    const expected = sessionStorage.getItem(LOGOUT)
    sessionStorage.removeItem(LOGOUT)
    history.replaceState(null, '', '/')
    status(expected !== null && params.get('state') === expected ? 'You are signed out.' : 'Signed out.')
  }
  show(false)
}

await main()
