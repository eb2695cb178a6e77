/**
 * The single-page app (examples/spa) in a real browser (Debian's Chromium through playwright-core):
 * a public client at an origin of its own signs a user in with PKCE, calls userinfo, refreshes and
 * logs out, every call to the authorization server made from the page (CORS for the client's web
 * origin, issue #22). A page at another origin cannot read a token answer. Screenshots go to
 * test-artifacts/screenshots/spa-*.png.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort, startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium, launchChromium } from './chromium.js'
import { saveScreenshot } from './page-checks.js'
import { watchPage } from './demo-support.js'

const SERVE = fileURLToPath(new URL('../../examples/spa/src/serve.mjs', import.meta.url))

/** Starts examples/spa/src/serve.mjs as `npm start` does, and waits for its start line. */
async function startSpa(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [SERVE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`serve.mjs exited with ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^authcode single-page app on (\S+)/.exec(line)
      if (match?.[1] !== undefined) resolve(match[1])
    })
  })
  return { child, url }
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** A token request from `page`'s origin, through the page's own fetch: what it can read of the answer. */
function tokenRequestFrom(page: Page, tokenEndpoint: string, clientId: string): Promise<{ read: true; status: number; error: string } | { read: false; message: string }> {
  return page.evaluate(
    async ([endpoint, id]) => {
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'x', code_verifier: 'v'.repeat(43), client_id: id }),
        })
        const body = (await response.json()) as { error: string }
        return { read: true as const, status: response.status, error: body.error }
      } catch (error) {
        return { read: false as const, message: String(error) }
      }
    },
    [tokenEndpoint, clientId] as const,
  )
}

describeInChromium('the single-page app in Chromium (issue #22)', () => {
  let server: TestServer
  let browser: Browser
  let spa: { child: ChildProcess; url: string }
  let other: { child: ChildProcess; url: string }
  let client: TestClient

  beforeAll(async () => {
    server = await startServer()
    const port = await freePort()
    const spaUrl = `http://localhost:${port}`
    // As npm start registers demo-spa: a public client whose redirect URI's origin is the page's.
    client = await server.addClient({
      name: 'authcode single-page app',
      redirectUris: [`${spaUrl}/`],
      postLogoutRedirectUris: [`${spaUrl}/?signedOut=1`],
      isPublic: true,
    })
    spa = await startSpa({ SPA_PORT: String(port), SPA_ISSUER: server.url, SPA_CLIENT_ID: client.clientId })
    // The same files at an origin the client never registered.
    const otherPort = await freePort()
    other = await startSpa({ SPA_PORT: String(otherPort), SPA_ISSUER: server.url, SPA_CLIENT_ID: client.clientId })
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await stop(spa?.child)
    await stop(other?.child)
    await server?.close()
  })

  it('signs in with PKCE from its own origin, calls userinfo, refreshes and logs out; every token stays out of URLs and storage', async () => {
    const user = await server.addUser('spa-user', 'correct horse battery', { name: 'Sandra Page', email: 'sandra@example.com' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked, urls } = watchPage(page)
    const tokenAnswers: Record<string, unknown>[] = []
    page.on('response', async (response) => {
      if (response.url() === `${server.url}/token` && response.request().method() === 'POST') tokenAnswers.push((await response.json()) as Record<string, unknown>)
    })

    await page.goto(`${spa.url}/`)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    const authorizeUrl = new URL(urls.find((url) => url.startsWith(`${server.url}/authorize?`)) ?? '')
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(authorizeUrl.searchParams.get('client_id')).toBe(client.clientId)
    await saveScreenshot(page, 'spa-1-sign-in')
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor()
    expect(await page.textContent('main')).toContain('authcode single-page app')
    await page.getByRole('button', { name: 'Allow' }).click()

    // Back at the page: it redeemed the code from its own origin (CORS) and called userinfo.
    await page.getByRole('heading', { name: 'Signed in' }).waitFor()
    expect(await page.textContent('#name')).toBe('Sandra Page')
    expect(await page.textContent('#email')).toBe('sandra@example.com')
    expect(await page.textContent('#scopes')).toBe('openid profile email')
    expect(page.url()).toBe(`${spa.url}/`)
    expect(tokenAnswers).toHaveLength(1)
    await saveScreenshot(page, 'spa-2-signed-in')

    await page.getByRole('button', { name: 'Refresh tokens' }).click()
    await page.getByText('The tokens were refreshed.').waitFor()
    expect(await page.textContent('#refreshes')).toBe('1 time')
    expect(tokenAnswers).toHaveLength(2)
    expect(tokenAnswers[1]?.refresh_token).not.toBe(tokenAnswers[0]?.refresh_token)
    await page.getByRole('button', { name: 'Call userinfo' }).click()
    await page.getByText('Called userinfo.').waitFor()
    expect(await page.textContent('#name')).toBe('Sandra Page')

    // No token in any URL the page requested, in its storage or its cookies.
    const tokens = tokenAnswers.flatMap((answer) => [answer.access_token, answer.refresh_token, answer.id_token]).filter((t): t is string => typeof t === 'string')
    expect(tokens.length).toBeGreaterThanOrEqual(5)
    const storage = String(await page.evaluate('JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage })'))
    const cookies = (await context.cookies()).map((c) => c.value).join('\n')
    for (const token of tokens) {
      expect(urls.join('\n')).not.toContain(token)
      expect(storage).not.toContain(token)
      expect(cookies).not.toContain(token)
    }

    // Log out: the refresh token is revoked, then the server's RP-initiated logout asks to confirm.
    const refreshToken = tokenAnswers[1]?.refresh_token as string
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.waitForURL((url) => url.href.startsWith(`${server.url}/`))
    await page.locator('button[name="decision"][value="logout"]').click()
    await page.waitForURL((url) => url.href.startsWith(`${spa.url}/`))
    await page.getByText('You are signed out.').waitFor()
    await page.getByRole('button', { name: 'Log in' }).waitFor()
    await saveScreenshot(page, 'spa-3-signed-out')
    const reuse = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId }),
    })
    expect(reuse.status).toBe(400)

    // The sign-in at the server ended too: the next Log in asks for the password again.
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByLabel('Password').waitFor()
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('a page at another origin cannot read a token answer; the client\'s own origin can', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${other.url}/`)
    await page.getByRole('button', { name: 'Log in' }).waitFor()
    const refused = await tokenRequestFrom(page, `${server.url}/token`, client.clientId)
    expect(refused.read).toBe(false)
    // The same request from the client's origin reads the error answer.
    await page.goto(`${spa.url}/`)
    await page.getByRole('button', { name: 'Log in' }).waitFor()
    expect(await tokenRequestFrom(page, `${server.url}/token`, client.clientId)).toEqual({ read: true, status: 400, error: 'invalid_grant' })
    await context.close()
  }, 60_000)
})
