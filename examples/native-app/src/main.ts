#!/usr/bin/env -S node --import tsx
/**
 * A native app (RFC 8252, OAuth 2.0 for Native Apps) as a small command: a public client that signs
 * the user in through the system browser and a loopback redirect on a random port.
 *
 * 1. Reads the server's metadata (RFC 8414) and listens on 127.0.0.1, port 0: the system picks a
 *    free port, and the redirect URI is http://127.0.0.1:PORT/callback (§7.3; the server accepts
 *    any port for a loopback redirect URI registered without one).
 * 2. Builds the authorization request with PKCE S256, `state` and `nonce`, prints its URL and opens
 *    the system browser on it (§6: the browser, never an embedded view): the command in $BROWSER,
 *    else open (macOS), start (Windows) or xdg-open.
 * 3. Takes the one callback: checks `state` and `iss` (RFC 9207), answers the browser with a page
 *    that says to return to the terminal, redeems the code with the verifier, validates the ID
 *    token and calls userinfo.
 * 4. Prints the user's claims, then revokes the refresh token: this example keeps nothing. Tokens
 *    are never printed.
 *
 * Usage: authcode-native-example --client-id ID [--issuer URL] [--scope "openid profile email"] [--timeout SECONDS]
 * Environment: AUTHCODE_CLIENT_ID, AUTHCODE_ISSUER (default http://localhost:4000), BROWSER.
 */
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import * as oauth from 'oauth4webapi'

const CALLBACK_PATH = '/callback'

interface Options {
  issuer: URL
  clientId: string
  scope: string
  timeoutMs: number
}

class UsageError extends Error {}

function options(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      scope: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help === true) {
    process.stdout.write('Usage: authcode-native-example --client-id ID [--issuer URL] [--scope "openid profile email"] [--timeout SECONDS]\n')
    process.exit(0)
  }
  const clientId = values['client-id'] ?? env.AUTHCODE_CLIENT_ID
  if (clientId === undefined || clientId === '') throw new UsageError('--client-id (or AUTHCODE_CLIENT_ID) is required: register the app with authcode client add --public --redirect-uri http://127.0.0.1/callback')
  let issuer: URL
  try {
    issuer = new URL(values.issuer ?? env.AUTHCODE_ISSUER ?? 'http://localhost:4000')
  } catch {
    throw new UsageError(`--issuer: an absolute URL: ${values.issuer ?? env.AUTHCODE_ISSUER}`)
  }
  const timeout = Number(values.timeout ?? 300)
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 3600) throw new UsageError(`--timeout: whole seconds from 1 to 3600: ${values.timeout}`)
  return { issuer, clientId, scope: values.scope ?? 'openid profile email', timeoutMs: timeout * 1000 }
}

/** RFC 8252 §6: the user's own browser. $BROWSER when set (a command, given the URL), else the platform's opener. */
function openBrowser(url: string, env: NodeJS.ProcessEnv): void {
  const [command, args] =
    env.BROWSER !== undefined && env.BROWSER !== ''
      ? [env.BROWSER, [url]]
      : process.platform === 'darwin'
        ? ['open', [url]]
        : process.platform === 'win32'
          ? ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]]
          : ['xdg-open', [url]]
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true })
    child.on('error', () => process.stderr.write(`Could not start ${command}: open the URL above yourself.\n`))
    child.unref()
  } catch {
    process.stderr.write(`Could not start ${command}: open the URL above yourself.\n`)
  }
}

function page(title: string, text: string): string {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p></html>`
}

/**
 * RFC 8252 §7.3: the loopback listener, on 127.0.0.1 only (§8.3: not `localhost`), on a port the
 * system picks. Resolves with the first request to the callback path; anything else is a 404.
 */
async function listenForCallback(): Promise<{ server: Server; redirectUri: string; callback: Promise<{ url: URL; answer: (status: number, title: string, text: string) => void }> }> {
  let deliver: (value: { url: URL; answer: (status: number, title: string, text: string) => void }) => void = () => {}
  const callback = new Promise<{ url: URL; answer: (status: number, title: string, text: string) => void }>((resolve) => {
    deliver = resolve
  })
  let taken = false
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', redirectUri)
    if (request.method !== 'GET' || url.pathname !== CALLBACK_PATH || taken) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    taken = true
    deliver({
      url,
      answer: (status, title, text) => {
        response
          .writeHead(status, {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
            'referrer-policy': 'no-referrer',
            'cache-control': 'no-store',
          })
          .end(page(title, text))
      },
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`
  return { server, redirectUri, callback }
}

function describe(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.AuthorizationResponseError) {
    return `${error.error}${error.error_description === undefined ? '' : `: ${error.error_description}`}`
  }
  return error instanceof Error ? error.message : String(error)
}

async function main(): Promise<void> {
  const { issuer, clientId, scope, timeoutMs } = options(process.argv.slice(2), process.env)
  // Plain http only to a server on this machine (development); https everywhere else.
  const insecure = issuer.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname)
  const http = insecure ? { [oauth.allowInsecureRequests]: true } : {}
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...http }))
  if (as.authorization_endpoint === undefined) throw new Error(`${issuer.href} names no authorization_endpoint`)
  const client: oauth.Client = { client_id: clientId }
  const clientAuth = oauth.None()

  const { server, redirectUri, callback } = await listenForCallback()
  try {
    const codeVerifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const nonce = oauth.generateRandomNonce()
    const url = new URL(as.authorization_endpoint)
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope,
      state,
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString()
    process.stdout.write(`Sign in in your browser. If it does not open, open this URL:\n${url.href}\n`)
    openBrowser(url.href, process.env)

    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no sign-in within ${timeoutMs / 1000} s`)), timeoutMs)
    })
    const { url: callbackUrl, answer } = await Promise.race([callback, timedOut]).finally(() => clearTimeout(timer))

    let result: oauth.TokenEndpointResponse
    let sub: string
    try {
      const params = oauth.validateAuthResponse(as, client, callbackUrl, state)
      const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, codeVerifier, http)
      result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true })
      sub = (oauth.getValidatedIdTokenClaims(result) as oauth.IDToken).sub
    } catch (error) {
      answer(400, 'Sign-in failed', `${describe(error)}. Return to the terminal.`)
      throw error
    }
    answer(200, 'Signed in', 'You can close this tab and return to the terminal.')

    const claims = await oauth.processUserInfoResponse(as, client, sub, await oauth.userInfoRequest(as, client, result.access_token, http))
    process.stdout.write(`Signed in as ${typeof claims.name === 'string' ? claims.name : claims.sub}\n${JSON.stringify(claims, null, 2)}\n`)

    if (result.refresh_token !== undefined && as.revocation_endpoint !== undefined) {
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, result.refresh_token, http))
    }
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof UsageError ? 'usage' : 'sign-in failed'}: ${describe(error)}\n`)
  process.exitCode = error instanceof UsageError ? 2 : 1
})
