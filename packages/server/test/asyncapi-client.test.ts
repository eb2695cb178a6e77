/**
 * `authcode client add --asyncapi FILE [--scheme NAME]` (issue 4): the client is allowed exactly the
 * scopes of the document's oauth2 authorization code scheme, plus openid. The BUILT CLI, by exit
 * code and output.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { reference } from '../../asyncapi/test/fixtures.js'
import { runCli } from './cli-process.js'

const V3 = reference('chat-broker.v3.yaml')
const V2 = reference('chat-broker.v2.yaml')

const dirs: string[] = []
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-asyncapi-cli-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const ADD = ['client', 'add', '--name', 'Chat', '--redirect-uri', 'https://chat.test/cb', '--json']

async function clientScopes(cwd: string): Promise<string[]> {
  const list = await runCli(cwd, ['client', 'list', '--json'])
  expect(list.code, list.stderr).toBe(0)
  // RFC 7591 §2: `scope` is one space-separated string.
  const [client] = JSON.parse(list.stdout) as Array<{ scope: string }>
  return (client?.scope ?? '').split(' ').filter((scope) => scope !== '').sort()
}

describe.concurrent('authcode client add --asyncapi', () => {
  it('registers a client allowed exactly the AsyncAPI 3.0 scheme\'s scopes plus openid', async () => {
    const cwd = workdir()
    const result = await runCli(cwd, [...ADD, '--asyncapi', V3, '--scheme', 'chatOAuth'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toHaveProperty('client_secret')
    expect(await clientScopes(cwd)).toEqual(['admin', 'openid', 'read:messages', 'write:messages'])
  })

  it('reads an AsyncAPI 2.6 document with one scheme without --scheme', async () => {
    const cwd = workdir()
    const result = await runCli(cwd, [...ADD, '--asyncapi', V2])
    expect(result.code, result.stderr).toBe(0)
    expect(await clientScopes(cwd)).toEqual(['admin', 'openid', 'read:messages', 'write:messages'])
  })

  it('takes several schemes of one authorization server (the same URLs) as one without --scheme: every scope', async () => {
    const cwd = workdir()
    const result = await runCli(cwd, [...ADD, '--asyncapi', V3])
    expect(result.code, result.stderr).toBe(0)
    expect(await clientScopes(cwd)).toEqual(['admin', 'openid', 'read:messages', 'write:messages'])
  })

  it('refuses schemes of different authorization servers without --scheme, listing them (exit 1, one line)', async () => {
    const cwd = workdir()
    const document = join(cwd, 'two-servers.yaml')
    // The last scheme (admin) moves to another authorization server.
    const text = readFileSync(V3, 'utf8')
    const at = text.lastIndexOf('authorizationUrl:')
    writeFileSync(document, `${text.slice(0, at)}${text.slice(at).replace(/https?:\/\/[^/\s]+/g, 'https://other-as.example.com')}`)
    const result = await runCli(cwd, [...ADD, '--asyncapi', document])
    expect(result.code).toBe(1)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/oauth2 authorization code schemes of different authorization servers: chatOAuth, readMessages, writeMessages, admin; choose one with --scheme NAME/)
  })

  it('refuses --scope beside --asyncapi, and --scheme without --asyncapi (exit 2)', async () => {
    const both = await runCli(workdir(), [...ADD, '--asyncapi', V3, '--scheme', 'chatOAuth', '--scope', 'openid'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--scope and --asyncapi exclude each other/)
    const schemeOnly = await runCli(workdir(), [...ADD, '--scheme', 'chatOAuth'])
    expect(schemeOnly.code).toBe(2)
    expect(schemeOnly.stderr).toMatch(/--scheme needs --asyncapi FILE/)
  })

  it('names an unreadable document (exit 1)', async () => {
    const result = await runCli(workdir(), [...ADD, '--asyncapi', 'missing.yaml'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^authcode: asyncapi: cannot read .*missing\.yaml: ENOENT/)
  })
})
