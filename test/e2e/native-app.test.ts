/**
 * The native-app example (examples/native-app, RFC 8252) as a user runs it: the command starts a
 * loopback listener on a random port, prints the authorization URL and opens "the system browser"
 * — here $BROWSER, a script that hands the URL to Chromium driven by playwright-core — which signs
 * in and consents; the command redeems the code with its PKCE verifier and prints the user.
 */
import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium, launchChromium } from './chromium.js'

const APP_DIR = fileURLToPath(new URL('../../examples/native-app/', import.meta.url))

interface Run {
  /** Resolves when the command exits. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>
  /** The URL the command gave $BROWSER. */
  opened: Promise<string>
}

describeInChromium('the native-app example (RFC 8252) with a scripted system browser', () => {
  let server: TestServer
  let client: TestClient
  let browser: Browser
  let dir: string

  beforeAll(async () => {
    server = await startServer()
    // As its README registers it: public, a loopback redirect URI without a port.
    client = await server.addClient({ name: 'authcode native example', redirectUris: ['http://127.0.0.1/callback'], isPublic: true })
    dir = await mkdtemp(join(tmpdir(), 'authcode-native-'))
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  let runs = 0
  /** Runs the command with $BROWSER set to a script that writes the URL it is given to a file. */
  async function run(): Promise<Run> {
    const n = ++runs
    const urlFile = join(dir, `opened-${n}.txt`)
    const opener = join(dir, `browser-${n}.sh`)
    await writeFile(opener, `#!/bin/sh\nprintf '%s' "$1" > '${urlFile}.tmp' && mv '${urlFile}.tmp' '${urlFile}'\n`)
    await chmod(opener, 0o755)
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--client-id', client.clientId, '--issuer', server.url, '--timeout', '60'], {
      cwd: APP_DIR,
      env: { ...process.env, BROWSER: opener },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })))
    const opened = (async () => {
      for (let i = 0; i < 300; i++) {
        const url = await readFile(urlFile, 'utf8').catch(() => undefined)
        if (url !== undefined) return url
        if (child.exitCode !== null) throw new Error(`the command exited first: ${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error('$BROWSER was never started')
    })()
    return { done, opened }
  }

  it('RFC 8252 §7.3: the command signs the user in through the browser and a loopback redirect on a random port, and prints the user, never a token', async () => {
    const user = await server.addUser('nora', 'correct horse battery', { name: 'Nora Native', email: 'nora@example.com' })
    const { done, opened } = await run()
    const url = new URL(await opened)
    expect(url.origin + url.pathname).toBe(`${server.url}/authorize`)
    const redirect = new URL(url.searchParams.get('redirect_uri') ?? '')
    expect(redirect.hostname).toBe('127.0.0.1')
    expect(redirect.pathname).toBe('/callback')
    expect(Number(redirect.port)).toBeGreaterThan(0)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{20,}$/)

    const page = await browser.newPage()
    await page.goto(url.href)
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor()
    expect(await page.textContent('main')).toContain('authcode native example')
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.getByRole('heading', { name: 'Signed in' }).waitFor()
    expect(page.url().startsWith(`${redirect.origin}/callback?`)).toBe(true)
    await page.close()

    const { code, stdout, stderr } = await done
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain(url.href)
    expect(stdout).toContain('Signed in as Nora Native')
    const claims = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, unknown>
    expect(claims).toMatchObject({ sub: user.id, name: 'Nora Native', email: 'nora@example.com' })
    // No JWT (access or ID token) and no refresh token in what it printed.
    expect(stdout + stderr).not.toMatch(/eyJ[\w-]+\.[\w-]+\./)
    expect(stdout).not.toMatch(/token/i)
  }, 90_000)

  it('RFC 6749 §10.12: a callback with another state fails the command without a token request; the listener takes one callback', async () => {
    const { done, opened } = await run()
    const url = new URL(await opened)
    const redirectUri = url.searchParams.get('redirect_uri') ?? ''
    const forged = await fetch(`${redirectUri}?code=stolen&state=not-the-state&iss=${encodeURIComponent(server.url)}`)
    expect(forged.status).toBe(400)
    expect(await forged.text()).toContain('Sign-in failed')
    const { code, stderr } = await done
    expect(code).toBe(1)
    expect(stderr).toMatch(/^sign-in failed: /)
    expect(stderr).not.toContain('stolen')
  }, 60_000)
})
