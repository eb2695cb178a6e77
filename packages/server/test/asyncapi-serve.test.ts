/**
 * `authcode serve --asyncapi FILE --scheme NAME` (issue 4, "Configure from it"): the server offers
 * exactly the document's scopes (plus openid), shows their descriptions on the consent page, serves
 * its endpoints at the document's paths when they are under the issuer, and warns, naming each
 * URL, when the document describes another deployment.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reference } from '../../asyncapi/test/fixtures.js'
import { ConfigError, loadConfig } from '../src/config/load.js'
import { runCli, startServe } from './cli-process.js'
import { HOSTILE_POINTER, SECRET, writeHostileDocument, type Hostile } from './fixtures/asyncapi/hostile.js'
import { Browser, basicAuth, freePort, hiddenInput, locationOf, pkcePair, postForm, startServer, type TestServer } from './harness.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const TEMPLATE = join(HERE, 'fixtures/asyncapi/chat-broker.localhost.v3.yaml')
/** The reference document: its URLs are on localhost:4000, another deployment than the test servers. */
const REFERENCE = reference('chat-broker.v3.yaml')
const BROKER_SCOPES = ['read:messages', 'write:messages', 'admin']

const dirs: string[] = []
async function workdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authcode-asyncapi-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** The fixture with its URLs on `port`, written to `dir`, after `edit`. */
async function documentFor(dir: string, port: number, edit = (text: string) => text): Promise<string> {
  const path = join(dir, 'asyncapi.yaml')
  await writeFile(path, edit((await readFile(TEMPLATE, 'utf8')).replaceAll('localhost:PORT', `localhost:${port}`)))
  return path
}

describe('loadConfig with an AsyncAPI document', () => {
  it('offers exactly the scheme\'s scopes plus openid, and takes the endpoint paths under the issuer', async () => {
    const dir = await workdir()
    const document = await documentFor(dir, 4100)
    const config = loadConfig({ port: 4100, asyncapi: document, scheme: 'chatOAuth' }, {}, dir)
    expect(Object.keys(config.scopes).sort()).toEqual([...BROKER_SCOPES, 'openid'].sort())
    expect(config.scopes['read:messages']).toBe('Read messages from the broker')
    expect(config.endpoints.authorization).toBe('/oauth2/authorize')
    expect(config.endpoints.token).toBe('/oauth2/token')
    expect(config.endpoints.revocation).toBe('/revoke')
    expect(config.asyncapi).toMatchObject({ document, scheme: 'chatOAuth', openidAdded: true, warnings: [] })
  })

  it('takes the document from AUTHCODE_ASYNCAPI and the scheme from AUTHCODE_ASYNCAPI_SCHEME; flags win', async () => {
    const dir = await workdir()
    const document = await documentFor(dir, 4100)
    const fromEnv = loadConfig({ port: 4100 }, { AUTHCODE_ASYNCAPI: document, AUTHCODE_ASYNCAPI_SCHEME: 'readMessages' }, dir)
    expect(fromEnv.asyncapi?.scheme).toBe('readMessages')
    const flagWins = loadConfig({ port: 4100, scheme: 'admin' }, { AUTHCODE_ASYNCAPI: document, AUTHCODE_ASYNCAPI_SCHEME: 'readMessages' }, dir)
    expect(flagWins.asyncapi?.scheme).toBe('admin')
  })

  it('takes several schemes of one authorization server (the same URLs) as one when no scheme is named: every scope', async () => {
    const dir = await workdir()
    const config = loadConfig({ port: 4100, asyncapi: await documentFor(dir, 4100) }, {}, dir)
    expect(Object.keys(config.scopes).sort()).toEqual([...BROKER_SCOPES, 'openid'].sort())
    expect(config.asyncapi?.scheme).toBe('chatOAuth, readMessages, writeMessages, admin')
    expect(config.endpoints.token).toBe('/oauth2/token')
  })

  it('refuses schemes of different authorization servers when no scheme is named, listing them', async () => {
    const dir = await workdir()
    // The last scheme (admin) moves to another port: another authorization server.
    const document = await documentFor(dir, 4100, (text) => {
      const at = text.lastIndexOf('authorizationUrl:')
      return text.slice(0, at) + text.slice(at).replaceAll('localhost:4100', 'localhost:4999')
    })
    expect(() => loadConfig({ port: 4100, asyncapi: document }, {}, dir)).toThrow(ConfigError)
    expect(() => loadConfig({ port: 4100, asyncapi: document }, {}, dir)).toThrow(
      /oauth2 authorization code schemes of different authorization servers: chatOAuth, readMessages, writeMessages, admin; choose one with --scheme/,
    )
    expect(() => loadConfig({ port: 4100, asyncapi: document, scheme: 'nope' }, {}, dir)).toThrow(/no valid oauth2 authorization code scheme named nope; it has: chatOAuth/)
  })

  it('refuses a scheme without a document, and a scopes setting beside a document', async () => {
    const dir = await workdir()
    const document = await documentFor(dir, 4100)
    expect(() => loadConfig({ port: 4100, scheme: 'chatOAuth' }, {}, dir)).toThrow(/no AsyncAPI document/)
    const file = join(dir, 'authcode.json')
    await writeFile(file, JSON.stringify({ scopes: { extra: 'Extra' }, asyncapi: { document, scheme: 'chatOAuth' } }))
    expect(() => loadConfig({ port: 4100, config: file }, {}, dir)).toThrow(/scopes: not allowed with an AsyncAPI document/)
  })

  it('reads only the security schemes at start: a document invalid elsewhere still configures the server', async () => {
    const dir = await workdir()
    const text = (await readFile(await documentFor(dir, 4100), 'utf8')).replace('  version: 1.0.0\n', '  version: 1.0.0\n  bogusInfoField: true\n')
    const document = join(dir, 'elsewhere-invalid.yaml')
    await writeFile(document, text)
    expect(loadConfig({ port: 4100, asyncapi: document, scheme: 'chatOAuth' }, {}, dir).asyncapi?.scheme).toBe('chatOAuth')
  })

  it('warns, naming each URL, when the document describes another deployment; the default paths stay', async () => {
    const dir = await workdir()
    const config = loadConfig({ port: 4101, asyncapi: REFERENCE, scheme: 'chatOAuth' }, {}, dir)
    const warnings = config.asyncapi?.warnings ?? []
    expect(warnings).toHaveLength(3)
    expect(warnings[0]).toMatch(/^authorizationUrl http:\/\/localhost:4000\/authorize is not served by this server/)
    expect(warnings[1]).toMatch(/^tokenUrl http:\/\/localhost:4000\/token is not served/)
    expect(warnings[2]).toMatch(/^refreshUrl http:\/\/localhost:4000\/token is not served/)
    expect(config.endpoints.authorization).toBe('/authorize')
    expect(config.endpoints.token).toBe('/token')
    expect(Object.keys(config.scopes).sort()).toEqual([...BROKER_SCOPES, 'openid'].sort())
  })
})

/** A server started from the fixture document (after `edit`), which names the server's own port. */
async function startFromDocument(edit?: (text: string) => string): Promise<TestServer> {
  const port = await freePort()
  const document = await documentFor(await workdir(), port, edit)
  return startServer({ asyncapi: { document, scheme: 'chatOAuth' } }, { port })
}

/** A new client and user of `server` go through the document's authorization URL up to the consent page. */
async function reachConsent(server: TestServer, scope: string) {
  const client = await server.addClient({ name: 'Chat', redirectUris: ['https://chat.test/cb'], scope })
  const user = await server.addUser('chatter')
  const browser = new Browser()
  const { verifier, challenge } = pkcePair()
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: 'https://chat.test/cb',
    scope,
    state: 'S1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  let response = await browser.get(`${server.url}/oauth2/authorize?${query}`)
  response = await browser.get(locationOf(response, server.url))
  const login = await response.text()
  const loginAction = /<form method="post" action="([^"]+)"/.exec(login)?.[1] ?? ''
  response = await browser.post(new URL(loginAction, server.url).href, { csrf: hiddenInput(login, 'csrf'), username: user.username, password: user.password })
  response = await browser.get(locationOf(response, server.url))
  return { client, browser, verifier, consent: await response.text() }
}

describe('a server configured from chat-broker.v3.yaml (URLs on its own origin)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startFromDocument()
  })
  afterAll(async () => server?.close())

  it('RFC 8414 §2: discovery lists exactly the document\'s scopes (plus openid) and its endpoint URLs', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const metadata = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>
      expect((metadata.scopes_supported as string[]).slice().sort()).toEqual([...BROKER_SCOPES, 'openid'].sort())
      expect(metadata.authorization_endpoint).toBe(`${server.url}/oauth2/authorize`)
      expect(metadata.token_endpoint).toBe(`${server.url}/oauth2/token`)
    }
    // The default paths are not served beside the document's.
    expect((await fetch(`${server.url}/authorize`)).status).toBe(404)
    expect((await postForm(`${server.url}/token`, { grant_type: 'authorization_code' })).status).toBe(404)
  })

  it('shows the document\'s scope descriptions on the consent page, and issues tokens at the document\'s token URL', async () => {
    const { client: chat, browser, verifier, consent } = await reachConsent(server, 'openid read:messages write:messages')
    expect(consent).toContain('Read messages from the broker')
    expect(consent).toContain('Write messages to the broker')
    expect(consent).not.toContain('Full administrative access')

    const consentAction = /<form method="post" action="([^"]+)"/.exec(consent)?.[1] ?? ''
    let response = await browser.post(new URL(consentAction, server.url).href, { csrf: hiddenInput(consent, 'csrf'), decision: 'approve' })
    for (let i = 0; i < 3 && !locationOf(response, server.url).startsWith('https://chat.test/'); i++) response = await browser.get(locationOf(response, server.url))
    const callback = new URL(locationOf(response, server.url))
    const code = callback.searchParams.get('code') ?? ''
    const token = await postForm(
      `${server.url}/oauth2/token`,
      { grant_type: 'authorization_code', code, redirect_uri: 'https://chat.test/cb', code_verifier: verifier },
      { authorization: basicAuth(chat.clientId, chat.secret ?? '') },
    )
    expect(token.status).toBe(200)
    const tokens = (await token.json()) as { scope: string; access_token: string }
    expect(tokens.scope.split(' ').sort()).toEqual(['openid', 'read:messages', 'write:messages'])
  })
})

describe('SECURITY 29: a scope description from the document is shown as text', () => {
  const HOSTILE_HTML = `<script>alert("consent")</script> & <img src=x onerror=alert(1)>`
  let server: TestServer
  beforeAll(async () => {
    server = await startFromDocument((text) => text.replace("'read:messages': Read messages from the broker", `'read:messages': '${HOSTILE_HTML}'`))
  })
  afterAll(async () => server?.close())

  it('SECURITY 29: the consent page shows a scope description with markup as escaped text', async () => {
    const { consent } = await reachConsent(server, 'openid read:messages')
    expect(consent).toContain('&lt;script&gt;alert(')
    expect(consent).toContain('&amp; &lt;img src=x onerror=alert(1)&gt;')
    expect(consent).not.toMatch(/<script|<img/i)
  })
})

describe('authcode serve --asyncapi (the built CLI)', () => {
  it('starts with a warning naming each URL of a document that describes another deployment, and says openid was added', async () => {
    const cwd = await workdir()
    const port = await freePort()
    const server = await startServe(cwd, ['--port', String(port), '--asyncapi', REFERENCE, '--scheme', 'chatOAuth', '--db', `sqlite:${join(cwd, 'a.db')}`])
    try {
      const warnings = server.logs()
      const warned = warnings.filter((l) => l.level === 40).map((l) => l.msg)
      expect(warned.some((m) => m.includes('authorizationUrl http://localhost:4000/authorize is not served by this server'))).toBe(true)
      expect(warned.some((m) => m.includes('tokenUrl http://localhost:4000/token is not served by this server'))).toBe(true)
      expect(warned.some((m) => m.includes('refreshUrl http://localhost:4000/token is not served by this server'))).toBe(true)
      expect(warnings.some((l) => l.level === 30 && /openid added.*OpenID Connect/.test(l.msg))).toBe(true)
      const metadata = (await (await fetch(`http://localhost:${port}/.well-known/openid-configuration`)).json()) as { scopes_supported: string[] }
      expect(metadata.scopes_supported.slice().sort()).toEqual([...BROKER_SCOPES, 'openid'].sort())
    } finally {
      await server.stop()
    }
  })

  it('refuses schemes of different authorization servers and no --scheme, listing them (exit 1, one line)', async () => {
    const cwd = await workdir()
    const document = join(cwd, 'two-servers.yaml')
    const text = await readFile(REFERENCE, 'utf8')
    const at = text.lastIndexOf('authorizationUrl:')
    await writeFile(document, text.slice(0, at) + text.slice(at).replaceAll('localhost:4000', 'localhost:4998'))
    const result = await runCli(cwd, ['serve', '--port', '0', '--issuer', 'http://localhost:4999', '--asyncapi', document])
    expect(result.code).toBe(1)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^authcode: asyncapi: .*schemes of different authorization servers: chatOAuth, readMessages, writeMessages, admin; choose one with --scheme NAME/)
  })

  /** `serve` and `client add` with the hostile document of `kind`: each must exit 1 with one line, before listening or opening the database. */
  async function expectRefused(kind: Hostile, why: RegExp): Promise<void> {
    const dir = await workdir()
    const port = await freePort()
    const { document, line } = writeHostileDocument(dir, kind, port)
    const db = `sqlite:${join(dir, 'a.db')}`
    const commands = [
      ['serve', '--port', String(port), '--asyncapi', document, '--scheme', 'chatOAuth', '--db', db],
      ['client', 'add', '--name', 'Chat', '--redirect-uri', 'https://chat.test/cb', '--asyncapi', document, '--scheme', 'chatOAuth', '--db', db],
    ]
    for (const args of commands) {
      const started = performance.now()
      const result = await runCli(dir, args)
      expect(performance.now() - started, `${kind}: ${args[0]}`).toBeLessThan(5_000)
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(result.stderr).toMatch(/^authcode: asyncapi: "\$ref": /)
      expect(result.stderr).toMatch(why)
      expect(result.stderr).toContain(`at ${HOSTILE_POINTER} (line ${line} of ${document})`)
      expect(result.stdout).not.toContain('authcode authorization server on')
      expect(result.stdout + result.stderr).not.toContain(SECRET)
    }
    expect(existsSync(join(dir, 'a.db'))).toBe(false)
  }

  it("SECURITY 29: serve and client add refuse a document whose scope description $refs a file outside its folder, before listening (exit 1, the $ref's pointer and line)", async () => {
    await expectRefused('outside', /is refused: it is outside the document's folder/)
  })

  it('SECURITY 29: serve and client add refuse a $ref fan-out and a $ref to a FIFO within a few seconds', async () => {
    await expectRefused('fan-out', /more than \d+ nodes \(maxNodes\)/)
    await expectRefused('fifo', /is refused: it is not a regular file/)
  })
})
