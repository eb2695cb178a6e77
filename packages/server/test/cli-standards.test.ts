/**
 * `authcode client add` for what certified providers do (issue #14): `--auth-method private_key_jwt`
 * with `--jwks FILE` or `--jwks-uri URL`, `--require-par`, `--require-dpop`. The BUILT CLI, by exit
 * code and output; nothing is written when a value is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from './cli-process.js'

const dirs: string[] = []
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-cli-standards-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const ADD = ['client', 'add', '--name', 'Bank', '--redirect-uri', 'https://bank.test/cb']
const KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }

async function clients(cwd: string): Promise<Array<Record<string, unknown>>> {
  const list = await runCli(cwd, ['client', 'list', '--json'])
  expect(list.code, list.stderr).toBe(0)
  return JSON.parse(list.stdout) as Array<Record<string, unknown>>
}

describe.concurrent('authcode client add: private_key_jwt, PAR and DPoP', () => {
  it('registers a private_key_jwt client with its keys from a file, no secret, requiring PAR and DPoP', async () => {
    const cwd = workdir()
    writeFileSync(join(cwd, 'jwks.json'), JSON.stringify({ keys: [KEY] }))
    const added = await runCli(cwd, [...ADD, '--auth-method', 'private_key_jwt', '--jwks', 'jwks.json', '--require-par', '--require-dpop', '--json'])
    expect(added.code, added.stderr).toBe(0)
    const printed = JSON.parse(added.stdout) as Record<string, unknown>
    expect(printed).not.toHaveProperty('client_secret')
    const [client] = await clients(cwd)
    expect(client).toMatchObject({
      client_id: printed.client_id,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [KEY] },
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
    })
  })

  it('takes a jwks_uri instead (https, or http on a loopback host)', async () => {
    const cwd = workdir()
    const added = await runCli(cwd, [...ADD, '--auth-method', 'private_key_jwt', '--jwks-uri', 'https://bank.test/jwks.json'])
    expect(added.code, added.stderr).toBe(0)
    expect((await clients(cwd))[0]).toMatchObject({ jwks_uri: 'https://bank.test/jwks.json' })
  })

  it('refuses what does not fit, one line each, and registers nothing', async () => {
    const cwd = workdir()
    writeFileSync(join(cwd, 'private.json'), JSON.stringify({ keys: [{ ...KEY, d: 'secret' }] }))
    writeFileSync(join(cwd, 'broken.json'), '{ not json')
    const cases: Array<[string[], number, RegExp]> = [
      [['--auth-method', 'private_key_jwt'], 1, /jwks or jwks_uri/],
      [['--auth-method', 'private_key_jwt', '--jwks', 'private.json'], 1, /private or symmetric/],
      [['--auth-method', 'private_key_jwt', '--jwks', 'broken.json'], 1, /is not JSON/],
      [['--auth-method', 'private_key_jwt', '--jwks', 'missing.json'], 1, /cannot read .*missing\.json/],
      [['--auth-method', 'private_key_jwt', '--jwks-uri', 'http://bank.test/jwks'], 1, /https/],
      [['--jwks-uri', 'https://bank.test/jwks'], 1, /private_key_jwt clients only/],
      [['--auth-method', 'tls_client_auth'], 2, /--auth-method: client_secret_basic, client_secret_post, private_key_jwt or none/],
      [['--public', '--auth-method', 'client_secret_basic'], 2, /--public is --auth-method none/],
    ]
    for (const [args, code, message] of cases) {
      const result = await runCli(cwd, [...ADD, ...args])
      expect(result.code, args.join(' ')).toBe(code)
      expect(result.stderr, args.join(' ')).toMatch(message)
    }
    expect(await clients(cwd)).toEqual([])
  })
})
