/**
 * Passkeys in a real browser (issue #18): Debian's Chromium through playwright-core, with a virtual
 * authenticator of the DevTools WebAuthn domain (CTAP2, internal, resident keys, user
 * verification) in place of a phone or a security key. A person adds a passkey at /account, signs
 * out, signs in to an app with it without typing a password (the ID token says `amr` hwk + user),
 * removes it and can no longer sign in with it; a cloned authenticator (the stored counter ahead of
 * the one the authenticator signs) is refused. The pages keep their strict CSP (the scripts are
 * the server's own files), and every page passes axe-core with zero violations.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { decodeJwt } from 'jose'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { authorizeQuery, basicAuth, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium, launchChromium } from './chromium.js'
import { accessibilityViolations, saveScreenshot } from './page-checks.js'

/** Screenshot and accessibility check of the page as it is now. */
async function checkPage(page: Page, name: string): Promise<void> {
  await saveScreenshot(page, name)
  expect(await accessibilityViolations(page)).toEqual([])
}

type Authenticator = { cdp: CDPSession; authenticatorId: string }

/** Whether the virtual authenticator answers by itself (the user touching it), or waits. */
async function present({ cdp, authenticatorId }: Authenticator, enabled: boolean): Promise<void> {
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled })
}

/** A browser context with a virtual platform authenticator, as a laptop with a fingerprint reader has. */
async function withAuthenticator(browser: Browser): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string; blocked: string[] }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const blocked: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(message.text())
  })
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  })
  return { context, page, cdp, authenticatorId, blocked }
}

describeInChromium('passkeys in Chromium', () => {
  let server: TestServer
  let browser: Browser
  let app: Server
  let appUrl: string
  let client: TestClient
  const callbacks: URL[] = []

  beforeAll(async () => {
    server = await startServer()
    // The client's redirect endpoint: records what the browser brought back.
    app = createServer((request, response) => {
      callbacks.push(new URL(request.url ?? '/', appUrl))
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html lang="en"><title>App</title><h1>Signed in</h1></html>')
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    appUrl = `http://localhost:${(app.address() as AddressInfo).port}`
    client = await server.addClient({ name: 'Passkey App', redirectUris: [`${appUrl}/callback`], firstParty: true })
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => app?.close(resolve))
    await server?.close()
  })

  /** Signs in at /account with the password. */
  async function passwordSignIn(page: Page, user: { username: string; password: string }): Promise<void> {
    await page.goto(`${server.url}/account`)
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
  }

  /** Adds a passkey named `name` on the account page (the virtual authenticator answers). */
  async function addPasskey(page: Page, name: string): Promise<void> {
    await page.getByLabel('Name of the new passkey').fill(name)
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await page.getByText('Passkey added. You can sign in with it from now on.').waitFor()
  }

  /**
   * Signs out at /account. The sign-in page that follows starts the browser's autofill request
   * (conditional mediation), which a virtual authenticator with presence simulation would answer at
   * once: presence is off until the test clicks a passkey button (`present`).
   */
  async function signOut(page: Page, authenticator: Authenticator): Promise<void> {
    await present(authenticator, false)
    await page.goto(`${server.url}/account`)
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  }

  /** Starts an authorization request and clicks "Sign in with a passkey" (no password typed); returns the PKCE verifier. */
  async function passkeySignInToApp(page: Page, authenticator: Authenticator, screenshot?: string): Promise<string> {
    const { verifier, challenge } = pkcePair()
    await page.goto(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge })}`)
    const button = page.getByRole('button', { name: /passkey/ })
    await button.waitFor()
    if (screenshot !== undefined) await checkPage(page, screenshot)
    await present(authenticator, true)
    await button.click()
    return verifier
  }

  /** The ID token of the code the browser brought back to the app. */
  async function idTokenClaims(verifier: string) {
    const code = callbacks.findLast((url) => url.pathname === '/callback')?.searchParams.get('code') ?? ''
    const response = await postForm(
      `${server.url}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
      { authorization: basicAuth(client.clientId, client.secret ?? '') },
    )
    expect(response.status).toBe(200)
    return decodeJwt(((await response.json()) as { id_token: string }).id_token)
  }

  it('a person adds a passkey at /account, signs out, and signs in to an app with it without a password: amr hwk + user; removed, it signs in no more', async () => {
    const user = await server.addUser('pat', 'correct horse battery', { name: 'Pat Example' })
    const { context, page, cdp, authenticatorId, blocked } = await withAuthenticator(browser)
    const authenticator = { cdp, authenticatorId }

    await passwordSignIn(page, user)
    await page.getByRole('heading', { name: 'Passkeys' }).waitFor()
    expect(await page.textContent('main')).toContain('You have no passkeys yet.')
    await checkPage(page, 'passkeys-1-account-empty')
    await addPasskey(page, 'Work laptop')
    expect(await page.locator('section.passkeys h3').allTextContents()).toEqual(['Work laptop'])
    await checkPage(page, 'passkeys-2-account-added')
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    expect(credentials[0]?.isResidentCredential).toBe(true)

    await signOut(page, authenticator)
    // The username field offers the browser's passkeys (conditional mediation) beside the button.
    await page.goto(`${server.url}/account`)
    expect(await page.getByLabel('Username').getAttribute('autocomplete')).toBe('username webauthn')

    const verifier = await passkeySignInToApp(page, authenticator, 'passkeys-3-login')
    await page.waitForURL((url) => url.href.startsWith(`${appUrl}/callback`))
    const claims = await idTokenClaims(verifier)
    expect(claims).toMatchObject({ sub: user.id, amr: ['hwk', 'user'], acr: 'phrh' })

    // The account page shows when it was last used; removing it (a recent sign-in: no new one asked).
    await page.goto(`${server.url}/account`)
    expect(await page.locator('section.passkeys').textContent()).toMatch(/Last used\s*\S/)
    await page.getByRole('button', { name: 'Remove passkey Work laptop' }).click()
    await page.getByText('Passkey removed. It no longer signs you in.').waitFor()
    await checkPage(page, 'passkeys-4-account-removed')
    expect(await server.store.listPasskeys(user.id)).toEqual([])

    // The authenticator still has the credential; the server no longer takes it.
    await signOut(page, authenticator)
    await passkeySignInToApp(page, authenticator)
    await page.getByText('This passkey could not sign you in.').waitFor()
    // The page offers autofill again, which the virtual authenticator would answer at once: it waits now.
    await present(authenticator, false)
    await page.waitForLoadState('load')
    await page.getByText('This passkey could not sign you in.').waitFor()
    expect(page.url()).toContain('/interaction/')
    expect((await context.cookies(server.url)).some((cookie) => cookie.name === 'authcode_session')).toBe(false)
    await checkPage(page, 'passkeys-5-login-refused')
    expect(blocked).toEqual([])
    await context.close()
  }, 120_000)

  it('conditional mediation: the username field\'s autofill signs in with the passkey, no button and no password', async () => {
    const user = await server.addUser('rene', 'correct horse battery')
    const { context, page, cdp, authenticatorId } = await withAuthenticator(browser)
    const authenticator = { cdp, authenticatorId }
    await passwordSignIn(page, user)
    await addPasskey(page, 'Tablet')
    await signOut(page, authenticator)
    // The autofill request starts with the page; the (virtual) user picks the passkey it offers.
    await present(authenticator, true)
    await page.goto(`${server.url}/account`)
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    expect(await page.textContent('main')).toContain('Signed in as')
    const [passkey] = await server.store.listPasskeys(user.id)
    expect(passkey?.lastUsedAt).not.toBeNull()
    await context.close()
  }, 120_000)

  it('WebAuthn §6.1.1: a cloned authenticator, whose counter is behind the one the server saw, is refused', async () => {
    const user = await server.addUser('quinn', 'correct horse battery')
    const { context, page, cdp, authenticatorId } = await withAuthenticator(browser)
    const authenticator = { cdp, authenticatorId }
    await passwordSignIn(page, user)
    await addPasskey(page, 'Phone')
    await signOut(page, authenticator)

    const verifier = await passkeySignInToApp(page, authenticator)
    await page.waitForURL((url) => url.href.startsWith(`${appUrl}/callback`))
    expect(await idTokenClaims(verifier)).toMatchObject({ sub: user.id, amr: ['hwk', 'user'] })
    await signOut(page, authenticator)

    // Another copy of the key signed 1000 times meanwhile: this one's counter is now behind.
    const [passkey] = await server.store.listPasskeys(user.id)
    expect(await server.store.usePasskey(passkey?.credentialId ?? '', 1000, false, server.clock.now())).toBe(true)
    await passkeySignInToApp(page, authenticator)
    await page.getByText('This passkey could not sign you in.').waitFor()
    expect((await context.cookies(server.url)).some((cookie) => cookie.name === 'authcode_session')).toBe(false)
    await context.close()
  }, 120_000)
})
