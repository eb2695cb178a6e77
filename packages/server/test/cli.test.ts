/**
 * The `authcode` command line as a user runs it: the BUILT CLI (`dist/cli/main.js`) in a fresh
 * working directory per test, checked by exit code and output only (DESIGN.md "Contracts").
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, basicAuth, freePort, pkcePair, postForm } from './harness.js'
import { walkAuthorization } from './walk.js'
import { MAIN, runCli, startServe, type CliResult } from './cli-process.js'
import { reference } from '../../asyncapi/test/fixtures.js'
import { HOSTILE_POINTER, SECRET, writeHostileDocument } from './fixtures/asyncapi/hostile.js'
import { ARGON2ID_REFERENCE, BCRYPT_REFERENCE } from './fixtures/password-hashes.js'

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ROOT = resolve(PACKAGE, '../..')

const COMMANDS = [
  'serve',
  'client add',
  'client list',
  'client remove',
  'client show',
  'client update',
  'client rotate-secret',
  'user add',
  'user list',
  'user show',
  'user update',
  'user set-password',
  'user disable',
  'user enable',
  'user remove',
  'user import',
  'keys list',
  'keys rotate',
  'keys retire',
  'admin-token create',
  'admin-token list',
  'admin-token revoke',
  'registration-token create',
  'registration-token list',
  'registration-token revoke',
  'migrate',
] as const

type Result = CliResult

const dirs: string[] = []
/** A fresh, empty working directory. */
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-cli-'))
  dirs.push(dir)
  return dir
}

const cli = runCli

/** A failure as the CLI promises it: the exit code, one line on stderr naming the problem, no stack trace. */
function expectCleanFailure(result: Result, code: number, message: RegExp): void {
  expect(result.code, `stdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(code)
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^authcode: /)
  expect(lines[0]).toMatch(message)
  // Only a wrong call points to the usage; a command that could not be done does not.
  if (code === 2) expect(lines[0]).toMatch(/ \(run 'authcode --help' for usage\)$/)
  else expect(lines[0]).not.toMatch(/for usage/)
  expectNoStackTrace(result)
}

function expectNoStackTrace(result: Result): void {
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
    expect(text).not.toMatch(/node:internal|\.(ts|js):\d+:\d+/)
    expect(text).not.toMatch(/\b\w*Error: /)
  }
}

/** The audit events a command wrote on standard error, one JSON line each. */
function auditLines(result: Result): Array<Record<string, unknown>> {
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Fields of a client in every --json that shows one (RFC 7591 metadata and this server's switches); never a secret. */
const CLIENT_FIELDS = [
  'client_id',
  'client_name',
  'created_at',
  'first_party',
  'grant_types',
  'id_token_signed_response_alg',
  'pkce_optional',
  'post_logout_redirect_uris',
  'redirect_uris',
  'response_types',
  'scope',
  'token_endpoint_auth_method',
]

/** `client add --json` in `cwd`; returns the credentials it printed. */
async function addClient(cwd: string, extra: string[] = [], name = 'Shop'): Promise<{ client_id: string; client_secret?: string }> {
  const result = await cli(cwd, ['client', 'add', '--name', name, '--redirect-uri', 'https://app.test/cb', '--json', ...extra])
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as { client_id: string; client_secret?: string }
}

async function listClients(cwd: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Array<Record<string, unknown>>> {
  const result = await cli(cwd, ['client', 'list', '--json', ...extra], { env })
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>
}

beforeAll(() => {
  // Build so that the CLI under test is the current source (npm test builds first as well).
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--build'], { cwd: ROOT, encoding: 'utf8' })
  if (!existsSync(MAIN)) {
    throw new Error(`the CLI is not built (${MAIN} is missing): run \`npx tsc --build\` at the repository root\n${build.stdout}${build.stderr}`)
  }
  if (build.status !== 0) console.warn(`tsc --build failed; testing the CLI in dist as it is:\n${build.stdout}${build.stderr}`)
}, 120_000)

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe.concurrent('authcode --help', () => {
  it('the top level lists every command, with --help, -h, help or no command', async () => {
    const cwd = workdir()
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const result = await cli(cwd, args)
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('')
      expect(result.stdout).toMatch(/^Usage: authcode <command> \[options\]/)
      for (const command of [...COMMANDS, 'asyncapi check']) expect(result.stdout).toContain(`  ${command}`)
      expect(result.stdout).toContain('AUTHCODE_DB')
      expect(result.stdout).toContain('AUTHCODE_TRUST_PROXY')
    }
    // Help does nothing else: no database, no data directory.
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  it.each(COMMANDS)('authcode %s --help (or -h) shows its usage, --db and --config, and touches nothing', async (command) => {
    const cwd = workdir()
    for (const flag of command === 'client add' ? ['--help', '-h'] : ['--help']) {
      const result = await cli(cwd, [...command.split(' '), flag])
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('')
      expect(result.stdout).toMatch(new RegExp(`^Usage: authcode ${command}`))
      expect(result.stdout).toContain('--db URL')
      expect(result.stdout).toContain('--config FILE')
    }
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  it('command help names the options of the DESIGN.md contract', async () => {
    const cwd = workdir()
    const addHelp = (await cli(cwd, ['client', 'add', '--help'])).stdout
    for (const option of ['--name', '--redirect-uri', '--scope', '--public', '--json', '--id-token-alg', '--first-party']) expect(addHelp).toContain(option)
    const userHelp = (await cli(cwd, ['user', 'add', '--help'])).stdout
    for (const option of ['--username', '--password-stdin', '--name', '--email']) expect(userHelp).toContain(option)
    const serveHelp = (await cli(cwd, ['serve', '--help'])).stdout
    for (const option of ['--port', '--host', '--issuer', '--demo', '--trust-proxy', 'AUTHCODE_TRUST_PROXY', '--metrics-port', 'AUTHCODE_HOST', 'AUTHCODE_METRICS_PORT', '--admin-port', 'AUTHCODE_ADMIN_PORT']) {
      expect(serveHelp).toContain(option)
    }
  }, 60_000) // several CLI runs, each a process start

  it.each(COMMANDS.filter((command) => command !== 'serve'))('%s --help offers --json', async (command) => {
    expect((await cli(workdir(), [...command.split(' '), '--help'])).stdout).toContain('--json')
  })

  it('the top-level help states the rule of the AUTHCODE_* variables', async () => {
    const { stdout } = await cli(workdir(), ['--help'])
    expect(stdout).toContain('AUTHCODE_LIFETIMES_CODE')
    expect(stdout).toContain('AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX')
    expect(stdout).toContain('--version')
  })
})

describe.concurrent('authcode --version', () => {
  it('prints the version of @authcode/server, read from its package.json, and exits 0 (--version or -v)', async () => {
    const { version } = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string }
    const cwd = workdir()
    for (const flag of ['--version', '-v']) {
      const result = await cli(cwd, [flag])
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toBe('')
      expect(result.stdout).toBe(`${version}\n`)
    }
    expect(readdirSync(cwd)).toEqual([])
  })
})

describe.concurrent('wrong calls: exit 2, one line, no stack trace', () => {
  it.each([
    [['bogus'], /unknown command: bogus/],
    [['--bogus'], /unknown command: --bogus/],
    [['client'], /unknown command: client/],
    [['client', 'bogus'], /unknown command: client bogus/],
    [['keys', 'bogus'], /unknown command: keys bogus/],
    [['admin-token'], /unknown command: admin-token/],
    [['client', 'show'], /exactly one client id/],
    [['client', 'update', 'some-id'], /nothing to change/],
    [['client', 'update', 'some-id', '--post-logout-redirect-uri', 'https://app.test/bye', '--no-post-logout-redirect-uris'], /exclude each other/],
    [['client', 'update', 'some-id', '--web-origin', 'https://app.test', '--no-web-origins'], /--web-origin and --no-web-origins exclude each other/],
    [['client', 'rotate-secret', 'some-id', '--grace', 'soon'], /--grace: a whole number of seconds/],
    [['client', 'rotate-secret', 'some-id', '--grace=-5'], /--grace: a whole number of seconds: -5/],
    [['client', 'rotate-secret', 'some-id', '--grace', '-5'], /--grace/],
    [['user', 'show'], /--username is required/],
    [['user', 'disable', 'alice'], /alice/],
    [['user', 'update', '--username', 'alice'], /nothing to change/],
    [['user', 'update', '--username', 'alice', '--email-verified', '--email-unverified'], /exclude each other/],
    [['user', 'set-password', '--username', 'alice'], /--password-stdin is required/],
    [['user', 'list', '--limit', '0'], /--limit/],
    [['user', 'import'], /exactly one file/],
    [['keys', 'retire'], /exactly one key id/],
    [['admin-token', 'create'], /--name is required/],
    [['admin-token', 'revoke'], /exactly one admin token/],
    [['client', 'add', '--bogus'], /'--bogus'/],
    [['serve', '--bogus'], /'--bogus'/],
    [['migrate', '--bogus=1'], /'--bogus'/],
    [['migrate', 'extra'], /extra/],
    [['client', 'list', '--json=yes'], /--json/],
    [['client', 'add', '--name'], /--name/],
    [['client', 'add', '--redirect-uri', 'https://app.test/cb'], /--name is required/],
    [['client', 'add', '--name', 'Shop'], /--redirect-uri is required/],
    [['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--id-token-alg', 'none'], /--id-token-alg/],
    [['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--id-token-alg', 'HS256'], /--id-token-alg/],
    [['client', 'remove'], /exactly one client id/],
    [['client', 'remove', 'a', 'b'], /exactly one client id/],
    [['user', 'add', '--password-stdin'], /--username is required/],
    [['user', 'add', '--username', 'alice', '--password', 'secret123'], /'--password'/],
    [['serve', '--port', 'abc'], /--port: not a port number/],
    [['serve', '--port', '70000'], /--port/],
    [['serve', '--trust-proxy'], /--trust-proxy/],
    [['client', 'list', '--trust-proxy', '1'], /'--trust-proxy'/],
    [['--version', 'extra'], /--version takes no arguments/],
    [['serve', '--host'], /--host/],
    [['client', 'list', '--host', '127.0.0.1'], /'--host'/],
    [['serve', '--metrics-port', 'abc'], /--metrics-port: not a port number/],
    [['serve', '--metrics-port', '0'], /--metrics-port: not a port number/],
    [['serve', '--metrics-port', '65536'], /--metrics-port/],
    [['serve', '--admin-port', 'abc'], /--admin-port: not a port number/],
    [['serve', '--admin-port', '0'], /--admin-port: not a port number/],
  ])('authcode %j', async (args, message) => {
    const cwd = workdir()
    expectCleanFailure(await cli(cwd, args), 2, message)
    expect(existsSync(join(cwd, 'data', 'authcode.db'))).toBe(false)
  })
})

describe.concurrent('authcode client', () => {
  it('client add --json prints {client_id, client_secret}; the secret is never listed', async () => {
    const cwd = workdir()
    const result = await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--json'])
    expect(result.code).toBe(0)
    const printed = JSON.parse(result.stdout) as Record<string, string>
    // Standard error carries the audit event, never the secret.
    expect(auditLines(result)).toEqual([{ event: 'admin.client_created', time: expect.any(String), client_id: printed.client_id, user_id: null, actor: 'cli' }])
    expect(result.stderr).not.toContain(printed.client_secret)
    expect(Object.keys(printed).sort()).toEqual(['client_id', 'client_secret'])
    expect(printed.client_id).toMatch(/^[\w-]{16,}$/)
    expect(printed.client_secret).toMatch(/^[\w-]{43,}$/)

    const listed = await listClients(cwd)
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({ client_id: printed.client_id, client_name: 'Shop', redirect_uris: ['https://app.test/cb'], token_endpoint_auth_method: 'client_secret_basic' })
    const json = JSON.stringify(listed)
    expect(json).not.toContain(printed.client_secret)
    expect(json).not.toMatch(/"client_secret"|hash/i)

    const human = await cli(cwd, ['client', 'list'])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(printed.client_id)
    expect(human.stdout).toContain('Shop')
    expect(human.stdout).toContain('https://app.test/cb')
    expect(human.stdout).toContain('confidential')
    expect(human.stdout).not.toContain(printed.client_secret)
    expect(human.stdout).not.toMatch(/hash/i)
  })

  it('client add without --json prints the id and the secret once, with a warning to keep it', async () => {
    const cwd = workdir()
    const result = await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^client_id: [\w-]+\nclient_secret: [\w-]+\n/)
    expect(result.stdout).toMatch(/shown once/)
  })

  it('client add --public has no secret; the options reach the record', async () => {
    const cwd = workdir()
    const result = await cli(cwd, [
      'client', 'add', '--name', 'Native', '--redirect-uri', 'http://127.0.0.1/cb', '--redirect-uri', 'com.example.app:/cb',
      '--public', '--json', '--scope', 'openid email', '--id-token-alg', 'ES256', '--first-party',
    ])
    expect(result.code, result.stderr).toBe(0)
    const printed = JSON.parse(result.stdout) as Record<string, string>
    expect(Object.keys(printed)).toEqual(['client_id'])
    const [listed] = await listClients(cwd)
    expect(listed).toMatchObject({
      client_id: printed.client_id,
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/cb', 'com.example.app:/cb'],
      scope: 'openid email',
      id_token_signed_response_alg: 'ES256',
      first_party: true,
    })
    expect((await cli(cwd, ['client', 'list'])).stdout).toContain('public, first-party; id token ES256')
  })

  it.each([
    ['https://app.test/cb#frag', /fragment/],
    ['http://app.test/cb', /must use https/],
    ['javascript:alert(1)', /scheme javascript: is not allowed/],
    ['data:text/html,hi', /scheme data: is not allowed/],
    ['/relative/cb', /not an absolute URI/],
    ['https://user:pw@app.test/cb', /credentials/],
    ['https://app.test/*', /wildcard/],
    ['com.example.app:/cb', /private-use URI schemes are for public native clients/],
  ])('RFC 9700 §2.1: client add refuses the redirect URI %s (exit 1) and registers nothing', async (uri, message) => {
    const cwd = workdir()
    expectCleanFailure(await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', uri, '--json']), 1, message)
    expect(await listClients(cwd)).toEqual([])
  })

  it('client add --post-logout-redirect-uri (repeatable) and --backchannel-logout-uri reach the record (OpenID logout)', async () => {
    const cwd = workdir()
    const result = await cli(cwd, [
      'client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--json',
      '--post-logout-redirect-uri', 'https://app.test/bye', '--post-logout-redirect-uri', 'https://app.test/bye?lang=de',
      '--backchannel-logout-uri', 'http://127.0.0.1:3000/backchannel-logout',
    ])
    expect(result.code, result.stderr).toBe(0)
    const [listed] = await listClients(cwd)
    expect(listed).toMatchObject({
      post_logout_redirect_uris: ['https://app.test/bye', 'https://app.test/bye?lang=de'],
      backchannel_logout_uri: 'http://127.0.0.1:3000/backchannel-logout',
    })
    expect((await cli(cwd, ['client', 'list'])).stdout).toContain('back-channel logout URI: http://127.0.0.1:3000/backchannel-logout')
  })

  it.each([
    ['--backchannel-logout-uri', 'http://app.test/bcl', /must use https/],
    ['--backchannel-logout-uri', 'https://app.test/bcl#x', /fragment/],
    ['--post-logout-redirect-uri', 'http://app.test/bye', /must use https/],
  ])('client add refuses %s %s (exit 1) and registers nothing', async (flag, uri, message) => {
    const cwd = workdir()
    expectCleanFailure(await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', flag, uri]), 1, message)
    expect(await listClients(cwd)).toEqual([])
  })

  it('client add refuses a scope the server does not offer, and a malformed one (exit 1)', async () => {
    const cwd = workdir()
    expectCleanFailure(
      await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--scope', 'openid admin']),
      1,
      /scope: not offered by this server: admin/,
    )
    expectCleanFailure(
      await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--scope', 'openid "x"']),
      1,
      /scope/,
    )
    expect(await listClients(cwd)).toEqual([])
    // A scope the config offers is accepted.
    writeFileSync(join(cwd, 'authcode.yaml'), 'scopes:\n  admin: Administer the shop\n')
    const ok = await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb', '--scope', 'openid admin', '--config', 'authcode.yaml'])
    expect(ok.code, ok.stderr).toBe(0)
  })

  it('client list --json: RFC 7591 client metadata and this server\'s switches, never a secret', async () => {
    const cwd = workdir()
    const added = await addClient(cwd)
    const [listed] = await listClients(cwd)
    expect(Object.keys(listed ?? {}).sort()).toEqual(expect.arrayContaining(CLIENT_FIELDS))
    expect(Object.keys(listed ?? {})).not.toContain('client_secret')
    expect(listed).toMatchObject({ client_id: added.client_id, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], pkce_optional: false, post_logout_redirect_uris: [] })
    expect(listed?.created_at).toEqual(expect.any(Number))
  })

  it('client list on an empty database, and client remove (unknown id: exit 1, not a usage error)', async () => {
    const cwd = workdir()
    expect((await cli(cwd, ['client', 'list'])).stdout).toBe('no clients\n')
    expect(await listClients(cwd)).toEqual([])
    const first = await addClient(cwd, [], 'First')
    const second = await addClient(cwd, [], 'Second')
    const removed = await cli(cwd, ['client', 'remove', first.client_id])
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`removed client ${first.client_id}`)
    expect((await listClients(cwd)).map((c) => c.client_id)).toEqual([second.client_id])
    expectCleanFailure(await cli(cwd, ['client', 'remove', first.client_id]), 1, new RegExp(`no client with id ${first.client_id}$`))
    expectCleanFailure(await cli(cwd, ['client', 'remove', 'nope']), 1, /no client with id nope$/)
  }, 60_000) // several CLI runs, each a process start
})

describe.concurrent('authcode user add', () => {
  it('reads the password from standard input; a duplicate user is exit 1 (not a usage error)', async () => {
    const cwd = workdir()
    const password = 'piped password 1'
    const added = await cli(cwd, ['user', 'add', '--username', 'alice', '--password-stdin', '--name', 'Alice Example', '--email', 'alice@example.com'], { input: `${password}\n` })
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toBe('added user alice\n')
    expect(added.stdout + added.stderr).not.toContain(password)
    expectCleanFailure(await cli(cwd, ['user', 'add', '--username', 'alice', '--password-stdin'], { input: 'another password' }), 1, /a user named alice exists already$/)
  })

  it('user add --json prints {"user_id", "username"}', async () => {
    const result = await cli(workdir(), ['user', 'add', '--username', 'carol', '--password-stdin', '--json'], { input: 'long enough password' })
    expect(result.code, result.stderr).toBe(0)
    const printed = JSON.parse(result.stdout) as Record<string, string>
    expect(Object.keys(printed)).toEqual(['user_id', 'username'])
    expect(printed.user_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(printed.username).toBe('carol')
  })

  it('refuses a short or missing password, a bad username or email (exit 1), without echoing the password', async () => {
    const cwd = workdir()
    const short = await cli(cwd, ['user', 'add', '--username', 'bob', '--password-stdin'], { input: 'seven77\n' })
    expectCleanFailure(short, 1, /at least 8 characters/)
    expect(short.stderr).not.toContain('seven77')
    expectCleanFailure(await cli(cwd, ['user', 'add', '--username', 'bob', '--password-stdin'], { input: '' }), 1, /at least 8 characters/)
    expectCleanFailure(await cli(cwd, ['user', 'add', '--username', 'bob'], { input: 'long enough password' }), 2, /--password-stdin is required/)
    expectCleanFailure(await cli(cwd, ['user', 'add', '--username', 'b o b', '--password-stdin'], { input: 'long enough password' }), 1, /username: 1 to 64/)
    expectCleanFailure(await cli(cwd, ['user', 'add', '--username', 'bob', '--email', 'not-an-email', '--password-stdin'], { input: 'long enough password' }), 1, /email: not an email address/)
    // Nothing was added: the name is still free.
    expect((await cli(cwd, ['user', 'add', '--username', 'bob', '--password-stdin'], { input: 'long enough password' })).code).toBe(0)
  }, 60_000) // several CLI runs, each a process start
})

describe.concurrent('issue #20: clients over their whole life', () => {
  it('client show --json prints the RFC 7591 shape; human output names the kind; an unknown id is exit 1', async () => {
    const cwd = workdir()
    const added = await addClient(cwd)
    const shown = await cli(cwd, ['client', 'show', added.client_id, '--json'])
    expect(shown.code, shown.stderr).toBe(0)
    const client = JSON.parse(shown.stdout) as Record<string, unknown>
    expect(Object.keys(client).sort()).toEqual(expect.arrayContaining(CLIENT_FIELDS))
    expect(Object.keys(client)).not.toContain('client_secret')
    expect(client).toEqual((await listClients(cwd))[0])
    expect(shown.stderr).toBe('')
    expect((await cli(cwd, ['client', 'show', added.client_id])).stdout).toMatch(new RegExp(`^${added.client_id}  Shop  \\(confidential`))
    expectCleanFailure(await cli(cwd, ['client', 'show', 'nope']), 1, /^authcode: no client with id nope$/)
  })

  it('client update replaces the redirect URIs and sets the rest; a bad value is exit 1 naming it, and nothing changes', async () => {
    const cwd = workdir()
    const { client_id: id } = await addClient(cwd)
    const updated = await cli(cwd, [
      'client', 'update', id, '--name', 'Shop 2', '--redirect-uri', 'https://app.test/new', '--redirect-uri', 'https://app.test/other',
      '--scope', 'openid email', '--post-logout-redirect-uri', 'https://app.test/bye', '--json',
    ])
    expect(updated.code, updated.stderr).toBe(0)
    expect(JSON.parse(updated.stdout)).toMatchObject({
      client_id: id, client_name: 'Shop 2', redirect_uris: ['https://app.test/new', 'https://app.test/other'], scope: 'openid email', post_logout_redirect_uris: ['https://app.test/bye'],
    })
    expect(auditLines(updated)).toEqual([expect.objectContaining({ event: 'admin.client_updated', client_id: id, actor: 'cli' })])
    const before = await listClients(cwd)
    for (const [args, message] of [
      [['--redirect-uri', 'https://app.test/cb#frag'], /^authcode: redirect URI https:\/\/app\.test\/cb#frag must not contain a fragment/],
      [['--redirect-uri', 'javascript:alert(1)'], /scheme javascript: is not allowed/],
      [['--redirect-uri', 'https://app.test/ok', '--scope', 'openid admin'], /scope: not offered by this server: admin/],
      [['--post-logout-redirect-uri', 'http://evil.test/bye'], /post-logout redirect URI http:\/\/evil\.test\/bye must use https/],
      [['--name', ' '], /name: 1 to 100 characters/],
    ] as Array<[string[], RegExp]>) {
      expectCleanFailure(await cli(cwd, ['client', 'update', id, ...args]), 1, message)
    }
    expect(await listClients(cwd)).toEqual(before)
    const cleared = await cli(cwd, ['client', 'update', id, '--no-post-logout-redirect-uris', '--json'])
    expect(JSON.parse(cleared.stdout)).toMatchObject({ post_logout_redirect_uris: [] })
    expectCleanFailure(await cli(cwd, ['client', 'update', 'nope', '--name', 'x']), 1, /no client with id nope/)
  }, 60_000)

  it('client add --web-origin (repeatable) gives a public client web origins; update replaces or clears them; a confidential client or a bad origin is exit 1 (issue #22)', async () => {
    const cwd = workdir()
    const added = await cli(cwd, [
      'client', 'add', '--name', 'SPA', '--public', '--redirect-uri', 'https://spa.test/cb', '--web-origin', 'https://app.spa.test', '--web-origin', 'http://localhost:5173', '--json',
    ])
    expect(added.code, added.stderr).toBe(0)
    const { client_id: id } = JSON.parse(added.stdout) as { client_id: string }
    expect((await listClients(cwd))[0]).toMatchObject({ client_id: id, web_origins: ['https://app.spa.test', 'http://localhost:5173'] })
    expect((await cli(cwd, ['client', 'show', id])).stdout).toContain('web origins: https://app.spa.test http://localhost:5173')
    const replaced = await cli(cwd, ['client', 'update', id, '--web-origin', 'https://other.spa.test:8443', '--json'])
    expect(JSON.parse(replaced.stdout)).toMatchObject({ web_origins: ['https://other.spa.test:8443'] })
    expectCleanFailure(await cli(cwd, ['client', 'update', id, '--web-origin', 'https://other.spa.test/app']), 1, /web origin https:\/\/other\.spa\.test\/app is not a serialized origin/)
    const cleared = await cli(cwd, ['client', 'update', id, '--no-web-origins', '--json'])
    expect(JSON.parse(cleared.stdout)).toMatchObject({ web_origins: [] })
    const before = await listClients(cwd)
    expectCleanFailure(await cli(cwd, ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://shop.test/cb', '--web-origin', 'https://shop.test']), 1, /web origins are for public clients only/)
    expectCleanFailure(await cli(cwd, ['client', 'add', '--name', 'SPA', '--public', '--redirect-uri', 'https://spa.test/cb', '--web-origin', 'http://spa.test']), 1, /web origin http:\/\/spa\.test must use https/)
    expect(await listClients(cwd)).toEqual(before)
  }, 60_000)

  it('client rotate-secret prints the new secret once (--json with the grace end); a public client has none to rotate', async () => {
    const cwd = workdir()
    const { client_id: id, client_secret: first } = await addClient(cwd)
    const human = await cli(cwd, ['client', 'rotate-secret', id])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/^client_secret: [\w-]{43}\nThe secret is shown once.*\nThe previous secret no longer works\.\n$/)
    const json = await cli(cwd, ['client', 'rotate-secret', id, '--grace', '300', '--json'])
    const rotated = JSON.parse(json.stdout) as Record<string, unknown>
    expect(rotated).toMatchObject({ client_id: id, client_secret: expect.stringMatching(/^[\w-]{43}$/), client_secret_expires_at: 0 })
    expect(Math.abs(Number(rotated.previous_secret_expires_at) - (Date.now() / 1000 + 300))).toBeLessThan(30)
    expect(rotated.client_secret).not.toBe(first)
    expect(json.stderr).not.toContain(String(rotated.client_secret))
    expect(auditLines(json)).toEqual([expect.objectContaining({ event: 'admin.client_secret_rotated', client_id: id })])
    const pub = await addClient(cwd, ['--public'], 'App')
    expectCleanFailure(await cli(cwd, ['client', 'rotate-secret', pub.client_id]), 1, /it has no secret to rotate/)
    expectCleanFailure(await cli(cwd, ['client', 'rotate-secret', id, '--grace', '9999999']), 1, /grace: whole seconds from 0 to 2592000/)
  }, 60_000)

  it('client remove --json prints the removed client', async () => {
    const cwd = workdir()
    const { client_id: id } = await addClient(cwd)
    const removed = await cli(cwd, ['client', 'remove', id, '--json'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(JSON.parse(removed.stdout)).toMatchObject({ client_id: id, client_name: 'Shop' })
    expect(auditLines(removed)).toEqual([expect.objectContaining({ event: 'admin.client_removed', client_id: id })])
  })
})

describe.concurrent('issue #20: users over their whole life', () => {
  const USER_FIELDS = ['created_at', 'disabled', 'email', 'email_verified', 'id', 'name', 'updated_at', 'username']

  async function addUser(cwd: string, username: string, password = 'long enough password'): Promise<string> {
    const added = await cli(cwd, ['user', 'add', '--username', username, '--password-stdin', '--email', `${username}@example.com`, '--json'], { input: password })
    expect(added.code, added.stderr).toBe(0)
    return (JSON.parse(added.stdout) as { user_id: string }).user_id
  }

  it('user list and user show print users without a hash, in username order', async () => {
    const cwd = workdir()
    expect((await cli(cwd, ['user', 'list'])).stdout).toBe('no users\n')
    const carolId = await addUser(cwd, 'carol')
    await addUser(cwd, 'alice')
    const listed = await cli(cwd, ['user', 'list', '--json'])
    const users = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
    expect(users.map((u) => u.username)).toEqual(['alice', 'carol'])
    expect(Object.keys(users[0] ?? {}).sort()).toEqual(USER_FIELDS)
    expect(listed.stdout).not.toMatch(/hash|scrypt|password/)
    expect(JSON.parse((await cli(cwd, ['user', 'list', '--after', 'alice', '--limit', '1', '--json'])).stdout)).toEqual([users[1]])
    const shown = await cli(cwd, ['user', 'show', '--username', 'carol', '--json'])
    expect(JSON.parse(shown.stdout)).toEqual({ ...users[1], id: carolId })
    expect((await cli(cwd, ['user', 'list'])).stdout).toMatch(/^alice  [0-9a-f-]{36}  alice@example\.com \(unverified\)\ncarol /)
    expectCleanFailure(await cli(cwd, ['user', 'show', '--username', 'dave']), 1, /^authcode: no user named dave$/)
  }, 60_000)

  it('user update, set-password, disable, enable and remove: each changes the user, prints it, and writes its audit event', async () => {
    const cwd = workdir()
    const id = await addUser(cwd, 'alice')
    const run = async (args: string[], input?: string) => {
      const result = await cli(cwd, [...args, '--username', 'alice', '--json'], { input })
      expect(result.code, result.stderr).toBe(0)
      return { user: JSON.parse(result.stdout) as Record<string, unknown>, events: auditLines(result), stderr: result.stderr }
    }
    const updated = await run(['user', 'update', '--name', 'Alice L.', '--email', 'new@example.com'])
    expect(updated.user).toMatchObject({ id, name: 'Alice L.', email: 'new@example.com', email_verified: false })
    expect(updated.events).toEqual([{ event: 'admin.user_updated', time: expect.any(String), client_id: null, user_id: id, actor: 'cli' }])
    expect((await run(['user', 'update', '--email-verified'])).user).toMatchObject({ email_verified: true })

    const password = 'a brand new password'
    const set = await run(['user', 'set-password', '--password-stdin'], `${password}\n`)
    expect(set.events.map((e) => e.event)).toEqual(['admin.user_password_set'])
    expect(set.stderr).not.toContain(password)
    expect((await run(['user', 'disable'])).user).toMatchObject({ disabled: true })
    expect((await run(['user', 'enable'])).user).toMatchObject({ disabled: false })
    const removed = await run(['user', 'remove'])
    expect(removed.user).toMatchObject({ id, username: 'alice' })
    expect(removed.events).toEqual([expect.objectContaining({ event: 'admin.user_removed', user_id: id })])
    expect(JSON.parse((await cli(cwd, ['user', 'list', '--json'])).stdout)).toEqual([])
    for (const command of ['disable', 'enable', 'remove', 'show']) {
      expectCleanFailure(await cli(cwd, ['user', command, '--username', 'alice']), 1, /^authcode: no user named alice$/)
    }
  }, 60_000)

  it('user update and set-password refuse bad values (exit 1, nothing changed, the password never echoed)', async () => {
    const cwd = workdir()
    await addUser(cwd, 'alice')
    const before = (await cli(cwd, ['user', 'show', '--username', 'alice', '--json'])).stdout
    expectCleanFailure(await cli(cwd, ['user', 'update', '--username', 'alice', '--email', 'nope']), 1, /email: not an email address: nope/)
    const short = await cli(cwd, ['user', 'set-password', '--username', 'alice', '--password-stdin'], { input: 'short7' })
    expectCleanFailure(short, 1, /password: at least 8 characters/)
    expect(short.stderr).not.toContain('short7')
    expect((await cli(cwd, ['user', 'show', '--username', 'alice', '--json'])).stdout).toBe(before)
  })

  it('user import adds every user of the file, bcrypt and argon2id hashes included; a bad line adds none and names the line', async () => {
    const cwd = workdir()
    const good = [
      JSON.stringify({ username: 'bea', password_hash: BCRYPT_REFERENCE.hash, email: 'bea@example.com', email_verified: true }),
      '',
      JSON.stringify({ username: 'ari', password_hash: ARGON2ID_REFERENCE.hash, id: 'legacy-7' }),
    ].join('\n')
    const bad = [
      JSON.stringify({ username: 'cat', password_hash: BCRYPT_REFERENCE.hash }),
      JSON.stringify({ username: 'dan', password_hash: 'md5$0123' }),
    ].join('\n')
    writeFileSync(join(cwd, 'bad.jsonl'), bad)
    const refused = await cli(cwd, ['user', 'import', 'bad.jsonl'])
    expectCleanFailure(refused, 1, /^authcode: line 2: password_hash: not a scrypt, bcrypt \(\$2a\$, \$2b\$, \$2y\$\) or argon2id/)
    expect(refused.stderr).not.toContain('md5$0123')
    expect(JSON.parse((await cli(cwd, ['user', 'list', '--json'])).stdout)).toEqual([])

    writeFileSync(join(cwd, 'users.jsonl'), good)
    const imported = await cli(cwd, ['user', 'import', 'users.jsonl', '--json'])
    expect(imported.code, imported.stderr).toBe(0)
    expect(JSON.parse(imported.stdout)).toEqual({ imported: 2, users: [{ id: expect.any(String), username: 'bea' }, { id: 'legacy-7', username: 'ari' }] })
    expect(auditLines(imported)).toEqual([{ event: 'admin.users_imported', time: expect.any(String), client_id: null, user_id: null, actor: 'cli', count: 2 }])
    expect(JSON.parse((await cli(cwd, ['user', 'show', '--username', 'bea', '--json'])).stdout)).toMatchObject({ email: 'bea@example.com', email_verified: true })
    // Again: every username is taken now, so nothing is added.
    expectCleanFailure(await cli(cwd, ['user', 'import', 'users.jsonl']), 1, /^authcode: line 1: username: bea is taken$/)
    expectCleanFailure(await cli(cwd, ['user', 'import', 'missing.jsonl']), 1, /^authcode: cannot read missing\.jsonl: ENOENT$/)
  }, 60_000)
})

describe.concurrent('issue #20: keys list and retire, admin tokens', () => {
  it('keys list shows each key with its state and dates; retiring the only signing key is refused, saying what to do', async () => {
    const cwd = workdir()
    await cli(cwd, ['keys', 'rotate'])
    const listed = await cli(cwd, ['keys', 'list', '--json'])
    const keys = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
    expect(keys).toHaveLength(6)
    expect(Object.keys(keys[0] ?? {}).sort()).toEqual(['activates_at', 'alg', 'created_at', 'kid', 'published_until', 'retired_at', 'state'])
    expect(keys.map((key) => key.state).sort()).toEqual(['active', 'active', 'active', 'pending', 'pending', 'pending'])
    expect(listed.stdout).not.toMatch(/private|"d"/)
    const active = keys.find((key) => key.state === 'active' && key.alg === 'ES256')
    const refused = await cli(cwd, ['keys', 'retire', String(active?.kid)])
    expectCleanFailure(refused, 1, new RegExp(`^authcode: signing key ${String(active?.kid)} is the only key that signs ES256 tokens now: key \\S+ signs from \\S+; retire ${String(active?.kid)} after that$`))
    expect((await cli(cwd, ['keys', 'list'])).stdout).toMatch(/ ES256  active  \(created /)
    expectCleanFailure(await cli(cwd, ['keys', 'retire', 'nope']), 1, /^authcode: no signing key nope$/)
  })

  it('keys retire takes a key out of signing once another signs; it stays published until its tokens expire', async () => {
    const cwd = workdir()
    // A key that never signed (pending for keys.activationDelay, 60 s by default) leaves the JWKS at once.
    expect((await cli(cwd, ['keys', 'rotate'])).code).toBe(0)
    const pending = (JSON.parse((await cli(cwd, ['keys', 'list', '--json'])).stdout) as Array<Record<string, unknown>>).find((key) => key.state === 'pending')
    expect(JSON.parse((await cli(cwd, ['keys', 'retire', String(pending?.kid), '--json'])).stdout)).toMatchObject({ kid: pending?.kid, state: 'expired', published_until: expect.any(Number) })

    // With new keys signing a second after a rotation, the newest may be retired once it signs: the one before takes over.
    writeFileSync(join(cwd, 'authcode.json'), JSON.stringify({ keys: { activationDelay: 1, cacheTtl: 1 } }))
    const config = ['--config', 'authcode.json', '--db', 'sqlite:fast.db']
    expect((await cli(cwd, ['keys', 'rotate', ...config])).code).toBe(0)
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_100))
    const keys = JSON.parse((await cli(cwd, ['keys', 'list', '--json', ...config])).stdout) as Array<Record<string, unknown>>
    const newest = keys.filter((key) => key.alg === 'RS256').at(-1)
    expect(newest?.state).toBe('active')
    const retired = await cli(cwd, ['keys', 'retire', String(newest?.kid), '--json', ...config])
    expect(retired.code, retired.stderr).toBe(0)
    expect(JSON.parse(retired.stdout)).toMatchObject({ kid: newest?.kid, state: 'retired', retired_at: expect.any(Number), published_until: expect.any(Number) })
    expect(auditLines(retired)).toEqual([{ event: 'admin.key_retired', time: expect.any(String), client_id: null, user_id: null, actor: 'cli', kid: newest?.kid }])
    expectCleanFailure(await cli(cwd, ['keys', 'retire', String(newest?.kid), ...config]), 1, /is retired already$/)
  }, 60_000)

  it('admin-token create prints the token once; list never shows it; revoke by name or id', async () => {
    const cwd = workdir()
    const created = await cli(cwd, ['admin-token', 'create', '--name', 'ci', '--json'])
    expect(created.code, created.stderr).toBe(0)
    const token = JSON.parse(created.stdout) as Record<string, unknown>
    expect(token).toEqual({ id: expect.any(String), name: 'ci', token: expect.stringMatching(/^[\w-]{43}$/), created_at: expect.any(Number), last_used_at: null, revoked_at: null })
    expect(created.stderr).not.toContain(String(token.token))
    expect(auditLines(created)).toEqual([{ event: 'admin.token_created', time: expect.any(String), client_id: null, user_id: null, actor: 'cli', admin_token_id: token.id }])
    expectCleanFailure(await cli(cwd, ['admin-token', 'create', '--name', 'ci']), 1, /an admin token named ci exists already/)
    expectCleanFailure(await cli(cwd, ['admin-token', 'create', '--name', 'a b']), 1, /name: 1 to 64/)
    const listed = await cli(cwd, ['admin-token', 'list', '--json'])
    expect(JSON.parse(listed.stdout)).toEqual([{ id: token.id, name: 'ci', created_at: token.created_at, last_used_at: null, revoked_at: null }])
    expect(listed.stdout + (await cli(cwd, ['admin-token', 'list'])).stdout).not.toContain(String(token.token))
    const revoked = await cli(cwd, ['admin-token', 'revoke', 'ci', '--json'])
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: token.id, revoked_at: expect.any(Number) })
    expectCleanFailure(await cli(cwd, ['admin-token', 'revoke', String(token.id)]), 1, /is revoked already$/)
    expectCleanFailure(await cli(cwd, ['admin-token', 'revoke', 'ci']), 1, /no admin token with id or name ci$/)
  }, 60_000)
})

describe.concurrent('authcode keys rotate and migrate', () => {
  it('keys rotate prints the new key ids, different each time', async () => {
    const cwd = workdir()
    const kidsOf = (stdout: string): string[] => {
      const match = /published (\d+) new signing keys \(([^)]+)\)/.exec(stdout)
      expect(match, stdout).not.toBeNull()
      const kids = (match?.[2] ?? '').split(', ')
      expect(kids).toHaveLength(Number(match?.[1]))
      return kids
    }
    const first = await cli(cwd, ['keys', 'rotate'])
    expect(first.code, first.stderr).toBe(0)
    const second = await cli(cwd, ['keys', 'rotate'])
    expect(second.code, second.stderr).toBe(0)
    const a = kidsOf(first.stdout)
    const b = kidsOf(second.stdout)
    expect(a.length).toBeGreaterThan(0)
    for (const kid of [...a, ...b]) expect(kid).toMatch(/^[\w-]{8,}$/)
    expect(b.filter((kid) => a.includes(kid))).toEqual([])

    const json = await cli(cwd, ['keys', 'rotate', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const printed = JSON.parse(json.stdout) as { kids: string[]; active_from: number }
    expect(Object.keys(printed)).toEqual(['kids', 'active_from'])
    expect(printed.kids.length).toBe(a.length)
    for (const kid of printed.kids) expect([...a, ...b]).not.toContain(kid)
    // The default keys.activationDelay (60 s) after now, in seconds since the epoch.
    expect(Math.abs(printed.active_from - (Date.now() / 1000 + 60))).toBeLessThan(30)
  })

  it('migrate on a fresh database applies the migrations, then reports up to date', async () => {
    const cwd = workdir()
    const first = await cli(cwd, ['migrate'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^applied migrations: 0001_\w+/)
    expect(existsSync(join(cwd, 'data', 'authcode.db'))).toBe(true)
    const again = await cli(cwd, ['migrate'])
    expect(again.code).toBe(0)
    expect(again.stdout).toBe('the database schema is up to date\n')
  })

  it('migrate --json prints {"applied": […]}, empty when up to date', async () => {
    const cwd = workdir()
    const first = await cli(cwd, ['migrate', '--json'])
    expect(first.code, first.stderr).toBe(0)
    const { applied } = JSON.parse(first.stdout) as { applied: string[] }
    expect(applied[0]).toMatch(/^0001_\w+/)
    expect(JSON.parse((await cli(cwd, ['migrate', '--json'])).stdout)).toEqual({ applied: [] })
  })
})

describe.concurrent('--db and AUTHCODE_DB: every command uses the database it is given', () => {
  const invocations: Array<{ title: string; args: string[]; input?: string }> = [
    { title: 'migrate', args: ['migrate'] },
    { title: 'client add', args: ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb'] },
    { title: 'client list', args: ['client', 'list'] },
    { title: 'user add', args: ['user', 'add', '--username', 'alice', '--password-stdin'], input: 'long enough password' },
    { title: 'keys rotate', args: ['keys', 'rotate'] },
    { title: 'user list', args: ['user', 'list'] },
    { title: 'keys list', args: ['keys', 'list'] },
    { title: 'admin-token list', args: ['admin-token', 'list'] },
  ]

  it.each(invocations)('$title --db sqlite:PATH, AUTHCODE_DB, and the flag over the variable', async ({ args, input }) => {
    const cwd = workdir()
    const viaFlag = await cli(cwd, [...args, '--db', 'sqlite:flag/store.db'], { input })
    expect(viaFlag.code, viaFlag.stderr).toBe(0)
    expect(existsSync(join(cwd, 'flag', 'store.db'))).toBe(true)

    const viaEnv = await cli(cwd, args, { input, env: { AUTHCODE_DB: `sqlite:${join(cwd, 'env', 'store.db')}` } })
    expect(viaEnv.code, viaEnv.stderr).toBe(0)
    expect(existsSync(join(cwd, 'env', 'store.db'))).toBe(true)

    const both = await cli(cwd, [...args, '--db', 'sqlite:both-flag.db'], { input, env: { AUTHCODE_DB: 'sqlite:both-env.db' } })
    expect(both.code, both.stderr).toBe(0)
    expect(existsSync(join(cwd, 'both-flag.db'))).toBe(true)
    expect(existsSync(join(cwd, 'both-env.db'))).toBe(false)

    expect(existsSync(join(cwd, 'data', 'authcode.db'))).toBe(false)
  })

  it('a location in no accepted form is refused, names --db, never echoes it, and creates nothing', async () => {
    const cwd = workdir()
    for (const [args, env] of [
      [['migrate', '--db', 'mysql://root:hunter2@db.test/authcode'], {}],
      [['client', 'list'], { AUTHCODE_DB: 'postgress://u:hunter2@db.test/x' }],
      [['keys', 'rotate', '--db', 'sqlite:'], {}],
    ] as Array<[string[], Record<string, string>]>) {
      const result = await cli(cwd, args, { env })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^authcode: db: expected sqlite:PATH/)
      expect(result.stderr).not.toContain('hunter2')
      expectNoStackTrace(result)
    }
    expect(readdirSync(cwd)).toEqual([])
  })

  it('what one command writes, another reads from the same --db / AUTHCODE_DB, and nowhere else', async () => {
    const cwd = workdir()
    const added = await addClient(cwd, ['--db', 'sqlite:shared.db'])
    expect((await listClients(cwd, [], { AUTHCODE_DB: 'sqlite:shared.db' })).map((c) => c.client_id)).toEqual([added.client_id])
    expect(await listClients(cwd, ['--db', 'sqlite:other.db'])).toEqual([])
    expect(await listClients(cwd)).toEqual([])
    const removed = await cli(cwd, ['client', 'remove', added.client_id], { env: { AUTHCODE_DB: 'sqlite:shared.db' } })
    expect(removed.code, removed.stderr).toBe(0)
    expect(await listClients(cwd, ['--db', 'sqlite:shared.db'])).toEqual([])

    const user = ['user', 'add', '--username', 'alice', '--password-stdin']
    expect((await cli(cwd, [...user, '--db', 'sqlite:shared.db'], { input: 'long enough password' })).code).toBe(0)
    expectCleanFailure(await cli(cwd, user, { input: 'long enough password', env: { AUTHCODE_DB: 'sqlite:shared.db' } }), 1, /exists already/)
    expect((await cli(cwd, [...user, '--db', 'sqlite:other.db'], { input: 'long enough password' })).code).toBe(0)

    const migrated = await cli(cwd, ['migrate', '--db', 'sqlite:shared.db'])
    expect(migrated.stdout).toBe('the database schema is up to date\n')
  }, 60_000) // several CLI runs, each a process start
})

describe.concurrent('a bad --config file: a message naming the field, no stack trace', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown.json', JSON.stringify({ lifetimes: { code: 60 }, bogus: true }), /bogus: unknown setting/],
    ['lifetime.json', JSON.stringify({ lifetimes: { code: 900 } }), /lifetimes\.code: must be <= 600/],
    ['nested.yaml', 'lifetimes:\n  codeLifetime: 60\n', /lifetimes\.codeLifetime: unknown setting/],
    ['syntax.yaml', 'lifetimes:\n  code: [300\nissuer: "https://as.test\n', /syntax\.yaml is not valid YAML/],
    ['syntax.json', '{ "port": 4000, }', /syntax\.json is not valid JSON/],
    ['issuer.yaml', 'issuer: https://as.test/?tenant=1\n', /issuer: must not have a query or fragment/],
  ]

  /** A command run with the bad file fails with exit 1, names the problem, and does nothing. */
  async function expectConfigFailure(cwd: string, args: string[], message: RegExp, env: Record<string, string> = {}) {
    const result = await cli(cwd, args, { env, input: 'long enough password' })
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr).toMatch(/^authcode: /)
    expect(result.stderr).toMatch(message)
    expectNoStackTrace(result)
    expect(result.stdout).toBe('')
    expect(existsSync(join(cwd, 'data', 'authcode.db'))).toBe(false)
  }

  it.each(cases)('%s', async (name, content, message) => {
    const cwd = workdir()
    writeFileSync(join(cwd, name), content)
    await expectConfigFailure(cwd, ['serve', '--config', name], message)
    await expectConfigFailure(cwd, ['client', 'list'], message, { AUTHCODE_CONFIG: name })
  })

  it('every command reads --config', async () => {
    const cwd = workdir()
    writeFileSync(join(cwd, 'bad.yaml'), 'lifetimes:\n  code: 900\n')
    const message = /lifetimes\.code: must be <= 600/
    for (const args of [
      ['migrate'],
      ['client', 'add', '--name', 'Shop', '--redirect-uri', 'https://app.test/cb'],
      ['client', 'list'],
      ['client', 'remove', 'some-id'],
      ['client', 'show', 'some-id'],
      ['client', 'rotate-secret', 'some-id'],
      ['user', 'add', '--username', 'alice', '--password-stdin'],
      ['user', 'list'],
      ['user', 'disable', '--username', 'alice'],
      ['keys', 'rotate'],
      ['keys', 'list'],
      ['admin-token', 'list'],
    ]) {
      await expectConfigFailure(cwd, [...args, '--config', 'bad.yaml'], message)
    }
   }, 60_000) // several CLI runs, each a process start

  it('a missing config file names the file', async () => {
    const cwd = workdir()
    const result = await cli(cwd, ['client', 'list', '--config', 'nowhere.yaml'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot read config file .*nowhere\.yaml/)
    expectNoStackTrace(result)
  })

  it('serve --port 0 without an issuer is refused (the issuer would name port 0)', async () => {
    const result = await cli(workdir(), ['serve', '--port', '0'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^authcode: issuer: must be set when the port is 0/)
    expectNoStackTrace(result)
  })
})

describe.concurrent('SECURITY 28: serve --trust-proxy, AUTHCODE_TRUST_PROXY and trustProxy are checked before anything starts', () => {
  it.each([
    [['--trust-proxy', 'true'], {}, /^authcode: --trust-proxy: true is no longer accepted.*hop count.*addresses/],
    [['--trust-proxy', '0'], {}, /^authcode: --trust-proxy: the hop count must be at least 1/],
    [['--trust-proxy', '10.0.0.1,10.0.0.300'], {}, /^authcode: --trust-proxy: not an IP address or CIDR range: "10\.0\.0\.300"/],
    [['--trust-proxy', '0.0.0.0/0'], {}, /^authcode: --trust-proxy: .*\/0 would trust every address/],
    [[], { AUTHCODE_TRUST_PROXY: 'true' }, /^authcode: AUTHCODE_TRUST_PROXY: true is no longer accepted/],
    [[], { AUTHCODE_TRUST_PROXY: 'proxy.internal' }, /^authcode: AUTHCODE_TRUST_PROXY: not an IP address/],
  ])('serve %j with %j: exit 1, one line naming the setting', async (args, env, message) => {
    const cwd = workdir()
    const result = await cli(cwd, ['serve', '--port', '0', '--issuer', 'http://localhost:4999', ...args], { env })
    expectCleanFailure(result, 1, message)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('trustProxy: true in the config file is refused, even beside a flag that would win', async () => {
    const cwd = workdir()
    writeFileSync(join(cwd, 'authcode.json'), JSON.stringify({ trustProxy: true }))
    for (const extra of [[], ['--trust-proxy', '1']]) {
      const result = await cli(cwd, ['serve', '--port', '0', '--issuer', 'http://localhost:4999', '--config', 'authcode.json', ...extra])
      expectCleanFailure(result, 1, /^authcode: trustProxy: true is no longer accepted/)
    }
    expect(readdirSync(cwd)).toEqual(['authcode.json'])
  })
})

describe.concurrent('serve --host, AUTHCODE_HOST and the AUTHCODE_* variables are checked before anything starts', () => {
  it.each([
    [['--host', 'bad host'], {}, /^authcode: --host: not an IP address or host name: "bad host"$/],
    [['--host', 'http://0.0.0.0'], {}, /^authcode: --host: not an IP address or host name/],
    [[], { AUTHCODE_HOST: '10.0.0.300' }, /^authcode: AUTHCODE_HOST: not an IP address or host name: "10\.0\.0\.300"$/],
    [[], { AUTHCODE_LIFETIMES_CODE: 'five' }, /^authcode: AUTHCODE_LIFETIMES_CODE: not an integer: "five"$/],
    [[], { AUTHCODE_LIFETIMES_CODE: '900' }, /^authcode: AUTHCODE_LIFETIMES_CODE: must be <= 600$/],
    [[], { AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: 'yes' }, /^authcode: AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: expected true or false/],
    [[], { AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX: '0' }, /^authcode: AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX: must be >= 1$/],
    [['--metrics-port', '4999'], {}, /^authcode: --metrics-port: must differ from the port \(4999\)/],
    [[], { AUTHCODE_METRICS_PORT: '4999' }, /^authcode: AUTHCODE_METRICS_PORT: must differ from the port/],
    [['--admin-port', '4999'], {}, /^authcode: --admin-port: must differ from the port \(4999\)/],
    [['--metrics-port', '5001', '--admin-port', '5001'], {}, /^authcode: --admin-port: must differ from the metrics port \(5001\)/],
  ])('serve %j with %j: exit 1, one line naming the setting, nothing created', async (args, env, message) => {
    const cwd = workdir()
    const result = await cli(cwd, ['serve', '--port', '4999', '--issuer', 'http://localhost:4999', ...args], { env })
    expectCleanFailure(result, 1, message)
    expect(readdirSync(cwd)).toEqual([])
  })

  it('every command reads the variables: a bad one stops client list too', async () => {
    const cwd = workdir()
    expectCleanFailure(await cli(cwd, ['client', 'list'], { env: { AUTHCODE_KEYS_CACHE_TTL: '-1' } }), 1, /^authcode: AUTHCODE_KEYS_CACHE_TTL: must be >= 1$/)
    expect(readdirSync(cwd)).toEqual([])
  })

  it.each([
    ['--host 127.0.0.1', ['--host', '127.0.0.1'], {}],
    ['AUTHCODE_HOST=127.0.0.1', [], { AUTHCODE_HOST: '127.0.0.1' }],
  ])('%s: listens on that address only', async (_title, args, env) => {
    const cwd = workdir()
    const port = await freePort()
    const server = await startServe(cwd, ['--port', String(port), '--issuer', `http://localhost:${port}`, ...args], { env })
    try {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
      // The log is written asynchronously: the start line on stdout may come before it.
      const listening = () => server.logs().filter((line) => /^Server listening at /.test(line.msg)).map((line) => line.msg)
      for (let waited = 0; listening().length === 0 && waited < 10_000; waited += 50) await new Promise((resolveWait) => setTimeout(resolveWait, 50))
      expect(listening()).toEqual([`Server listening at http://127.0.0.1:${port}`])
    } finally {
      await server.stop()
    }
  }, 60_000)
})

describe.concurrent('authcode serve --demo', () => {
  let child: ChildProcess | undefined
  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
  })

  it('starts, prints the demo login, lets the demo user and a CLI-made user sign in, exits 0 on SIGTERM, and logs no secret', async () => {
    const cwd = workdir()
    const db = ['--db', 'sqlite:store/authcode.db']
    // A client, a user and a key rotation made with the CLI before the server starts.
    const shop = await addClient(cwd, db)
    const alicePassword = 'alice piped password'
    expect((await cli(cwd, ['user', 'add', '--username', 'alice', '--password-stdin', ...db], { input: `${alicePassword}\n` })).code).toBe(0)

    const port = await freePort()
    const base = `http://localhost:${port}`
    // The test's requests come from the loopback address: a listed proxy (SECURITY 28).
    const server = await startServe(cwd, ['--demo', '--port', String(port), '--trust-proxy', '127.0.0.1,::1', ...db])
    child = server.child
    // The demo client line comes last: startServe waits for it, so the whole announcement is in.
    const announced = server.stdout()
    const demoPassword = /^demo login: demo \/ (\S+)$/m.exec(announced)?.[1] ?? ''
    expect(demoPassword, announced).not.toBe('')
    expect(announced).toContain(`authcode authorization server on ${base}`)
    expect(announced).toMatch(/demo client: demo-app with redirect URI http:\/\/localhost:3000\/callback/)
    expect(existsSync(join(cwd, 'store', 'authcode.db'))).toBe(true)
    expect(existsSync(join(cwd, 'data', 'authcode.db'))).toBe(false)

    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    const metadata = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<string, string>
    expect(metadata.issuer).toBe(base)
    expect(metadata.token_endpoint).toBe(`${base}/token`)

    const demo = JSON.parse(readFileSync(join(cwd, 'data', 'demo.json'), 'utf8')) as { password: string; client_secret: string; client_id: string }
    expect(demo.password).toBe(demoPassword)
    expect(demo.client_id).toBe('demo-app')

    /** Signs in through the pages, exchanges the code; returns what the test must not find in the logs. */
    async function signIn(clientId: string, secret: string, redirectUri: string, user: { username: string; password: string }) {
      const { verifier, challenge } = pkcePair()
      const query = new URLSearchParams({
        response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid profile email',
        state: 'cli-state', nonce: 'cli-nonce', code_challenge: challenge, code_challenge_method: 'S256',
      })
      const callback = await walkAuthorization(base, `${base}/authorize?${query.toString()}`, user, new Browser())
      expect(`${callback.origin}${callback.pathname}`).toBe(redirectUri)
      expect(callback.searchParams.get('state')).toBe('cli-state')
      expect(callback.searchParams.get('iss')).toBe(base)
      const code = callback.searchParams.get('code') ?? ''
      expect(code).toMatch(/^[\w-]{43}$/)
      const response = await postForm(`${base}/token`, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, { authorization: basicAuth(clientId, secret) })
      expect(response.status).toBe(200)
      const tokens = (await response.json()) as Record<string, string>
      const userinfo = await fetch(`${base}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
      expect(userinfo.status).toBe(200)
      expect(await userinfo.json()).toMatchObject({ preferred_username: user.username })
      return [code, verifier, tokens.access_token ?? '', tokens.refresh_token ?? '', tokens.id_token ?? '']
    }

    // A failed sign-in first: the attempted password must not be logged either.
    const wrongPassword = 'wrong-password-zebra'
    await expect(walkAuthorization(base, `${base}/authorize?${new URLSearchParams({
      response_type: 'code', client_id: 'demo-app', redirect_uri: 'http://localhost:3000/callback', scope: 'openid',
      code_challenge: pkcePair().challenge, code_challenge_method: 'S256',
    }).toString()}`, { username: 'demo', password: wrongPassword })).rejects.toThrow(/stopped at 401/)

    const secrets = [
      ...(await signIn('demo-app', demo.client_secret, 'http://localhost:3000/callback', { username: 'demo', password: demoPassword })),
      ...(await signIn(shop.client_id, shop.client_secret ?? '', 'https://app.test/cb', { username: 'alice', password: alicePassword })),
      demo.client_secret,
      shop.client_secret ?? '',
      alicePassword,
      wrongPassword,
    ]

    const { code, signal } = await server.stop()
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    const stdout = server.stdout()
    const stderr = server.stderr()

    // SECURITY.md 23: the logs (JSON lines on stdout) and stderr carry no code, token, password or secret.
    const logLines = stdout.split('\n').filter((line) => line.startsWith('{'))
    expect(logLines.some((line) => line.includes('"request completed"'))).toBe(true)
    expect(logLines.some((line) => line.includes('"shutting down"'))).toBe(true)
    // SECURITY 28: the start log says whose X-Forwarded-For is believed.
    const proxyLine = logLines.map((line) => JSON.parse(line) as { level: number; msg: string; trustProxy?: unknown }).find((line) => line.trustProxy !== undefined)
    expect(proxyLine).toMatchObject({ level: 30, trustProxy: { addresses: ['127.0.0.1', '::1'] } })
    expect(proxyLine?.msg).toMatch(/^trustProxy: proxies at 127\.0\.0\.1, ::1; the caller is the right-most X-Forwarded-For entry outside them$/)
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(8)
      expect(stdout).not.toContain(secret)
      expect(stderr).not.toContain(secret)
    }
    // The demo password appears only in the line that announces it, never in a log line.
    for (const line of logLines) expect(line).not.toContain(demoPassword)
    expect(stdout.split(demoPassword)).toHaveLength(2)
    expectNoStackTrace({ code, stdout, stderr })
  }, 60_000)
})

describe('authcode asyncapi check', () => {
  it('--help shows its usage and touches nothing', async () => {
    const cwd = workdir()
    const result = await cli(cwd, ['asyncapi', 'check', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Usage: authcode asyncapi check FILE \[--json\]/)
    expect(existsSync(join(cwd, 'data'))).toBe(false)
  })

  it('prints the flows, scopes and per-operation scopes of a valid document and exits 0', async () => {
    const result = await cli(workdir(), ['asyncapi', 'check', reference('chat-broker.v3.yaml')])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('valid against the official 3.0.0 schema')
    expect(result.stdout).toMatch(/tokenUrl\s+http:\/\/localhost:4000\/token/)
    expect(result.stdout).toMatch(/sendMessage\s+send\s+write:messages/)
    expect(result.stdout).toMatch(/receiveMessages\s+receive\s+read:messages/)
    expect(result.stdout).toMatch(/purgeRoom\s+send\s+admin/)
    expectNoStackTrace(result)
  })

  it('names each schema problem of an invalid flow with its JSON pointer and exits 1', async () => {
    const result = await cli(workdir(), ['asyncapi', 'check', reference('invalid-flow.v3.yaml')])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('INVALID')
    expect(result.stdout).toMatch(/SCHEMA_REQUIRED\s+\/components\/securitySchemes\/broken\/flows\/authorizationCode .*tokenUrl/)
    expect(result.stdout).toMatch(/SCHEMA_FORMAT\s+\/components\/securitySchemes\/broken\/flows\/authorizationCode\/authorizationUrl /)
    expect(result.stdout).toMatch(/SCHEMA_ADDITIONAL_PROPERTY\s+\/components\/securitySchemes\/broken\/flows\/authorizationCode\/clientSecret /)
    const json = await cli(workdir(), ['asyncapi', 'check', '--json', reference('invalid-flow.v3.yaml')])
    expect(json.code).toBe(1)
    const parsed = JSON.parse(json.stdout) as { valid: boolean; problems: Array<{ code: string; pointer: string }> }
    expect(parsed.valid).toBe(false)
    expect(parsed.problems.filter((p) => p.code.startsWith('SCHEMA_')).map((p) => p.pointer).sort()).toEqual([
      '/components/securitySchemes/broken/flows/authorizationCode',
      '/components/securitySchemes/broken/flows/authorizationCode/authorizationUrl',
      '/components/securitySchemes/broken/flows/authorizationCode/clientSecret',
    ])
  })

  it("SECURITY 29: a document whose scope description $refs a file outside its folder is refused (exit 1, the $ref's pointer and line), the file unread", async () => {
    const dir = workdir()
    const { document, line } = writeHostileDocument(dir, 'outside')
    for (const flags of [[], ['--json']]) {
      const result = await cli(dir, ['asyncapi', 'check', ...flags, document])
      expectCleanFailure(result, 1, /is refused: it is outside the document's folder/)
      expect(result.stderr).toContain(`"$ref": "../data/kek.txt" at ${HOSTILE_POINTER} (line ${line} of ${document})`)
      expect(result.stdout + result.stderr).not.toContain(SECRET)
    }
  })

  it("SECURITY 29: a $ref fan-out and a $ref to a FIFO are refused within a few seconds (exit 1, the $ref's pointer and line)", async () => {
    for (const [kind, why] of [['fan-out', /more than \d+ nodes \(maxNodes\)/], ['fifo', /is refused: it is not a regular file/]] as const) {
      const dir = workdir()
      const { document, line } = writeHostileDocument(dir, kind)
      const started = performance.now()
      const result = await cli(dir, ['asyncapi', 'check', document])
      expect(performance.now() - started, kind).toBeLessThan(5_000)
      expectCleanFailure(result, 1, why)
      expect(result.stderr).toContain(`at ${HOSTILE_POINTER} (line ${line} of ${document})`)
    }
  })

  it('refuses a missing file and a file that is not AsyncAPI with one line and exit 1 (no usage pointer); a missing argument is exit 2', async () => {
    const dir = workdir()
    expectCleanFailure(await cli(dir, ['asyncapi', 'check', join(dir, 'nope.yaml')]), 1, /nope\.yaml/)
    writeFileSync(join(dir, 'other.yaml'), 'openapi: 3.1.0\ninfo: { title: x, version: "1" }\n')
    expectCleanFailure(await cli(dir, ['asyncapi', 'check', join(dir, 'other.yaml')]), 1, /other\.yaml/)
    expectCleanFailure(await cli(dir, ['asyncapi', 'check']), 2, /exactly one AsyncAPI document/)
  })
})
