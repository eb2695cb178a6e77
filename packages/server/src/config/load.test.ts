import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { ENV_VARIABLES, OTHER_VARIABLES, variableName } from './env.js'
import { ConfigError, DEFAULT_PORT, checkIssuer, loadConfig, type ServerConfig } from './load.js'
import { configFileSchema } from './schema.js'

const dir = mkdtempSync(join(tmpdir(), 'authcode-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
/** Writes a config file into the temp directory; returns its (relative) name. */
function file(content: unknown, extension: 'json' | 'yaml' | 'yml' = 'json'): string {
  const name = `config-${files++}.${extension}`
  writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  return name
}

const load = (flags: Parameters<typeof loadConfig>[0] = {}, env: Record<string, string | undefined> = {}): ServerConfig =>
  loadConfig(flags, env, dir)

/** The ConfigError message a configuration fails with (the test fails when it loads). */
function failure(flags: Parameters<typeof loadConfig>[0], env: Record<string, string | undefined> = {}): string {
  try {
    load(flags, env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).not.toMatch(/\n\s+at /) // never a stack trace in the message
    return message
  }
  throw new Error('the configuration loaded, but was expected to fail')
}

describe('loadConfig: sources and precedence (flags > AUTHCODE_* > file > defaults)', () => {
  it('defaults: port 4000, issuer http://localhost:4000, code 300 s (RFC 6749 §4.1.2), access token 600 s', () => {
    const config = load()
    expect(config.port).toBe(DEFAULT_PORT)
    expect(config.port).toBe(4000)
    expect(config.issuer).toBe('http://localhost:4000')
    expect(config.lifetimes.code).toBe(300)
    expect(config.lifetimes.accessToken).toBe(600)
    expect(config.db).toBe(`sqlite:${join(dir, 'data', 'authcode.db')}`)
    expect(config.dataDir).toBe(join(dir, 'data'))
    expect(config.accessToken).toEqual({ alg: 'ES256', audience: 'http://localhost:4000' })
    expect(config.secret).toBeUndefined()
    expect(config.dangerouslyAllowInsecureIssuer).toBe(false)
    expect(config.trustProxy).toBeUndefined()
    expect(Object.keys(config.scopes)).toEqual(['openid', 'profile', 'email', 'offline_access'])
  })

  it('the file overrides defaults', () => {
    const config = load({ config: file({ port: 4100, issuer: 'https://file.test', db: 'sqlite:file.db', lifetimes: { code: 60 } }) })
    expect(config).toMatchObject({ port: 4100, issuer: 'https://file.test', db: `sqlite:${join(dir, 'file.db')}` })
    expect(config.lifetimes.code).toBe(60)
    // Unset lifetimes keep their defaults.
    expect(config.lifetimes.accessToken).toBe(600)
  })

  it('AUTHCODE_* override the file', () => {
    const env = { AUTHCODE_PORT: '4200', AUTHCODE_ISSUER: 'https://env.test', AUTHCODE_DB: 'sqlite:env.db' }
    const config = load({ config: file({ port: 4100, issuer: 'https://file.test', db: 'sqlite:file.db' }) }, env)
    expect(config).toMatchObject({ port: 4200, issuer: 'https://env.test', db: `sqlite:${join(dir, 'env.db')}` })
  })

  it('flags override AUTHCODE_* and the file', () => {
    const env = { AUTHCODE_PORT: '4200', AUTHCODE_ISSUER: 'https://env.test', AUTHCODE_DB: 'sqlite:env.db' }
    const config = load(
      { port: 4300, issuer: 'https://flag.test', db: 'sqlite:flag.db', config: file({ port: 4100, issuer: 'https://file.test', db: 'sqlite:file.db' }) },
      env,
    )
    expect(config).toMatchObject({ port: 4300, issuer: 'https://flag.test', db: `sqlite:${join(dir, 'flag.db')}` })
  })

  it('the --config flag wins over AUTHCODE_CONFIG', () => {
    const config = load({ config: file({ port: 4101 }) }, { AUTHCODE_CONFIG: file({ port: 4102 }) })
    expect(config.port).toBe(4101)
    expect(load({}, { AUTHCODE_CONFIG: file({ port: 4102 }) }).port).toBe(4102)
  })

  it('empty AUTHCODE_* values count as unset', () => {
    const config = load({ config: file({ port: 4100, issuer: 'https://file.test' }) }, { AUTHCODE_PORT: '', AUTHCODE_ISSUER: '', AUTHCODE_DB: '', AUTHCODE_SECRET: '' })
    expect(config).toMatchObject({ port: 4100, issuer: 'https://file.test', secret: undefined })
  })

  it('the default issuer follows the chosen port, from whichever source', () => {
    expect(load({ port: 4300 }).issuer).toBe('http://localhost:4300')
    expect(load({}, { AUTHCODE_PORT: '4200' }).issuer).toBe('http://localhost:4200')
    expect(load({ config: file({ port: 4100 }) }).issuer).toBe('http://localhost:4100')
  })

  it('port 0 (any free port) needs an explicit issuer: the default would name port 0', () => {
    expect(failure({ port: 0 })).toMatch(/^issuer: must be set when the port is 0/)
    expect(failure({}, { AUTHCODE_PORT: '0' })).toMatch(/^issuer/)
    expect(failure({ config: file({ port: 0 }) })).toMatch(/^issuer/)
    expect(load({ port: 0, issuer: 'https://as.test' })).toMatchObject({ port: 0, issuer: 'https://as.test' })
  })

  it('the access token audience defaults to the issuer', () => {
    expect(load({ issuer: 'https://as.test' }).accessToken.audience).toBe('https://as.test')
    expect(load({ issuer: 'https://as.test', config: file({ accessToken: { audience: 'https://api.test' } }) }).accessToken.audience).toBe('https://api.test')
  })

  it('postgres URLs pass through; sqlite paths resolve against the working directory', () => {
    expect(load({ db: 'postgres://u@db.test/authcode' }).db).toBe('postgres://u@db.test/authcode')
    expect(load({ db: 'postgresql://u@db.test/authcode' }).db).toBe('postgresql://u@db.test/authcode')
    expect(load({ db: 'sqlite:/var/lib/authcode.db' }).db).toBe('sqlite:/var/lib/authcode.db')
    expect(load({ db: 'plain.db' }).db).toBe(`sqlite:${join(dir, 'plain.db')}`)
  })

  it('a database location in no accepted form is refused without echoing it (it may carry a password)', () => {
    for (const db of ['mysql://root:hunter2@db.test/authcode', 'postgress://u:hunter2@db.test/x', 'sqlite:', 'sqlite://x.db', 'notes.txt', '']) {
      const message = failure({ db })
      expect(message).toMatch(/^db: expected sqlite:PATH/)
      expect(message).not.toContain('hunter2')
    }
    expect(failure({}, { AUTHCODE_DB: 'mysql://db.test/x' })).toMatch(/^db:/)
    expect(failure({ config: file({ db: 'redis://db.test' }) })).toMatch(/^db:/)
    expect(load({ db: 'data.sqlite3' }).db).toBe(`sqlite:${join(dir, 'data.sqlite3')}`)
  })

  it('reads YAML (.yaml and .yml) and JSON files alike', () => {
    const yaml = load({ config: file('issuer: https://yaml.test\nlifetimes:\n  code: 120\n  accessToken: 900\nscopes:\n  orders:read: Read your orders\n', 'yaml') })
    expect(yaml.issuer).toBe('https://yaml.test')
    expect(yaml.lifetimes).toMatchObject({ code: 120, accessToken: 900 })
    expect(yaml.scopes['orders:read']).toBe('Read your orders')
    expect(yaml.scopes.openid).toBeDefined()
    expect(load({ config: file('port: 4400\n', 'yml') }).port).toBe(4400)
    const json = load({ config: file({ issuer: 'https://json.test', lifetimes: { code: 120 } }) })
    expect(json.issuer).toBe('https://json.test')
    expect(json.lifetimes.code).toBe(120)
  })

  it('the result is deep-frozen (fastify initial-config-validation)', () => {
    const config = load({ config: file({ scopes: { extra: 'More' } }) })
    expect(Object.isFrozen(config)).toBe(true)
    for (const part of [config.lifetimes, config.accessToken, config.keys, config.scopes, config.consent, config.rateLimit, config.rateLimit.loginPerAccount, config.rateLimit.loginPerIp, config.rateLimit.clientAuth]) {
      expect(Object.isFrozen(part)).toBe(true)
    }
    expect(() => {
      ;(config.lifetimes as { code: number }).code = 1
    }).toThrow(TypeError)
    expect(() => {
      ;(config.scopes as Record<string, string>).admin = 'everything'
    }).toThrow(TypeError)
    // The shared defaults are not the frozen object handed out, and stay usable by the next load.
    expect(load().scopes.extra).toBeUndefined()
  })
})

describe('loadConfig: every problem is a ConfigError naming the field', () => {
  it('RFC 6749 §4.1.2: lifetimes.code must be 1 to 600 seconds', () => {
    expect(failure({ config: file({ lifetimes: { code: 0 } }) })).toMatch(/lifetimes\.code: must be >= 1/)
    expect(failure({ config: file({ lifetimes: { code: 601 } }) })).toMatch(/lifetimes\.code: must be <= 600/)
    expect(failure({ config: file({ lifetimes: { code: 900 } }) })).toMatch(/lifetimes\.code/)
    expect(failure({ config: file({ lifetimes: { code: 1.5 } }) })).toMatch(/lifetimes\.code: must be integer/)
    expect(failure({ config: file({ lifetimes: { code: '300' } }) })).toMatch(/lifetimes\.code/)
    expect(load({ config: file({ lifetimes: { code: 1 } }) }).lifetimes.code).toBe(1)
    expect(load({ config: file({ lifetimes: { code: 600 } }) }).lifetimes.code).toBe(600)
  })

  it('the message names the file', () => {
    const name = file({ lifetimes: { code: 0 } })
    expect(failure({ config: name })).toContain(join(dir, name))
  })

  it('unknown settings, at the top level and nested', () => {
    expect(failure({ config: file({ isuer: 'https://typo.test' }) })).toMatch(/isuer: unknown setting/)
    expect(failure({ config: file({ lifetimes: { codes: 60 } }) })).toMatch(/lifetimes\.codes: unknown setting/)
    expect(failure({ config: file({ rateLimit: { clientAuth: { maximum: 3 } } }) })).toMatch(/rateLimit\.clientAuth\.maximum: unknown setting/)
    // The secret is never read from the file.
    expect(failure({ config: file({ secret: 'x'.repeat(40) }) })).toMatch(/secret: unknown setting/)
  })

  it('every problem of a file is listed, not only the first', () => {
    const message = failure({ config: file({ port: 'x', lifetimes: { code: 0, accessToken: 0 } }) })
    expect(message).toMatch(/port/)
    expect(message).toMatch(/lifetimes\.code/)
    expect(message).toMatch(/lifetimes\.accessToken/)
  })

  it('wrong types and values name the field', () => {
    expect(failure({ config: file({ port: 70000 }) })).toMatch(/port: must be <= 65535/)
    expect(failure({ config: file({ logLevel: 'loud' }) })).toMatch(/logLevel/)
    expect(failure({ config: file({ accessToken: { alg: 'none' } }) })).toMatch(/accessToken\.alg/)
    expect(failure({ config: file({ accessToken: { alg: 'HS256' } }) })).toMatch(/accessToken\.alg/)
    expect(failure({ config: file({ trustProxy: 'yes' }) })).toMatch(/trustProxy: must be boolean,integer,array/)
    expect(failure({ config: file({ scopes: { 'bad scope': 'x' } }) })).toMatch(/scopes/)
    expect(failure({ config: file({ lifetimes: { refreshTokenIdle: 86_400, refreshTokenAbsolute: 3_600 } }) })).toMatch(/lifetimes\.refreshTokenAbsolute/)
    expect(failure({ config: file({ keys: { cacheTtl: 120, activationDelay: 60 } }) })).toMatch(/keys\.activationDelay/)
  })

  it('not an object at the top level', () => {
    expect(failure({ config: file([1, 2]) })).toMatch(/\(top level\): must be object/)
    expect(failure({ config: file('', 'yaml') })).toMatch(/\(top level\): must be object/)
  })

  it('a YAML or JSON syntax error, or a missing file, names the file and the format', () => {
    const yaml = file('lifetimes:\n  code: [300\n', 'yaml')
    expect(failure({ config: yaml })).toMatch(new RegExp(`config file ${join(dir, yaml).replaceAll('.', '\\.')} is not valid YAML`))
    const json = file('{ "port": 4000, }')
    expect(failure({ config: json })).toMatch(/is not valid JSON/)
    expect(failure({ config: 'missing.json' })).toMatch(/cannot read config file .*missing\.json: ENOENT/)
  })

  it('AUTHCODE_PORT and AUTHCODE_LOG_LEVEL are checked', () => {
    expect(failure({}, { AUTHCODE_PORT: 'eighty' })).toMatch(/^AUTHCODE_PORT: not an integer: "eighty"/)
    expect(failure({}, { AUTHCODE_PORT: '65536' })).toMatch(/^AUTHCODE_PORT/)
    expect(failure({}, { AUTHCODE_PORT: '-1' })).toMatch(/^AUTHCODE_PORT/)
    expect(failure({}, { AUTHCODE_LOG_LEVEL: 'loud' })).toMatch(/^AUTHCODE_LOG_LEVEL/)
    expect(failure({}, { AUTHCODE_LOG_FORMAT: 'xml' })).toMatch(/^AUTHCODE_LOG_FORMAT/)
  })

  it('AUTHCODE_SECRET shorter than 32 characters is refused', () => {
    expect(failure({}, { AUTHCODE_SECRET: 'x'.repeat(31) })).toMatch(/^AUTHCODE_SECRET: must be at least 32 characters/)
    expect(load({}, { AUTHCODE_SECRET: 'x'.repeat(32) }).secret).toBe('x'.repeat(32))
  })
})

describe('loadConfig: the issuer (RFC 8414 §2, RFC 9207 §2)', () => {
  it('a trailing slash is removed', () => {
    expect(load({ issuer: 'https://as.test/' }).issuer).toBe('https://as.test')
    expect(load({ issuer: 'https://as.test/tenant/' }).issuer).toBe('https://as.test/tenant')
    expect(load({ config: file({ issuer: 'https://as.test/' }) }).issuer).toBe('https://as.test')
    expect(load({}, { AUTHCODE_ISSUER: 'https://as.test/' }).accessToken.audience).toBe('https://as.test')
  })

  it('a query or a fragment is refused', () => {
    expect(failure({ issuer: 'https://as.test/?tenant=1' })).toMatch(/^issuer: must not have a query or fragment/)
    expect(failure({ issuer: 'https://as.test/#x' })).toMatch(/^issuer: must not have a query or fragment/)
    // An empty query or fragment too: the issuer is compared by exact string.
    expect(failure({ issuer: 'https://as.test/?' })).toMatch(/^issuer: must not have a query or fragment/)
    expect(failure({ issuer: 'https://as.test#' })).toMatch(/^issuer: must not have a query or fragment/)
    expect(failure({ config: file({ issuer: 'https://as.test?x' }) })).toMatch(/^issuer/)
    expect(failure({}, { AUTHCODE_ISSUER: 'https://as.test#x' })).toMatch(/^issuer/)
  })

  it('plain http only on a loopback host, unless dangerouslyAllowInsecureIssuer', () => {
    expect(failure({ issuer: 'http://as.test' })).toMatch(/^issuer: must use https outside localhost/)
    expect(failure({ issuer: 'http://localhost.as.test' })).toMatch(/^issuer: must use https/)
    expect(failure({ issuer: 'http://10.0.0.1:4000' })).toMatch(/^issuer: must use https/)
    for (const loopback of ['http://localhost:4000', 'http://127.0.0.1:4000', 'http://[::1]:4000']) {
      expect(load({ issuer: loopback }).issuer).toBe(loopback)
    }
    const insecure = load({ issuer: 'http://as.test', config: file({ dangerouslyAllowInsecureIssuer: true }) })
    expect(insecure.issuer).toBe('http://as.test')
    expect(insecure.dangerouslyAllowInsecureIssuer).toBe(true)
  })

  it('a relative URL, another scheme or credentials are refused', () => {
    expect(failure({ issuer: '/authcode' })).toMatch(/^issuer: not an absolute URL/)
    expect(failure({ issuer: 'as.test' })).toMatch(/^issuer: not an absolute URL/)
    expect(failure({ config: file({ issuer: '//as.test' }) })).toMatch(/^issuer: not an absolute URL/)
    expect(failure({ issuer: 'ftp://as.test' })).toMatch(/^issuer: must be an https URL/)
    expect(failure({ issuer: 'https://user:pw@as.test' })).toMatch(/^issuer: must not contain credentials/)
  })

  it('checkIssuer returns the canonical form', () => {
    expect(checkIssuer('https://as.test', false)).toBe('https://as.test')
    expect(checkIssuer('https://as.test/a/b/', false)).toBe('https://as.test/a/b')
  })
})

describe('loadConfig: trustProxy, --trust-proxy, AUTHCODE_TRUST_PROXY (SECURITY 28)', () => {
  it('unset or false: X-Forwarded-* is ignored (no trusted proxy)', () => {
    expect(load().trustProxy).toBeUndefined()
    expect(load({ config: file({ trustProxy: false }) }).trustProxy).toBeUndefined()
    expect(load({}, { AUTHCODE_TRUST_PROXY: '' }).trustProxy).toBeUndefined()
  })

  it('a hop count: an integer of at least 1, in every source', () => {
    expect(load({ config: file({ trustProxy: 2 }) }).trustProxy).toEqual({ hops: 2 })
    expect(load({}, { AUTHCODE_TRUST_PROXY: '1' }).trustProxy).toEqual({ hops: 1 })
    expect(load({ trustProxy: '3' }).trustProxy).toEqual({ hops: 3 })
    expect(load({ trustProxy: ' 1 ' }).trustProxy).toEqual({ hops: 1 })
  })

  it('addresses and CIDR ranges, IPv4 and IPv6: an array in the file, comma-separated in the flag and the variable', () => {
    const addresses = ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '2001:db8::17', '::ffff:192.0.2.1', '192.0.2.0/32', '2001:db8::/128']
    expect(load({ config: file({ trustProxy: addresses }) }).trustProxy).toEqual({ addresses })
    expect(load({}, { AUTHCODE_TRUST_PROXY: addresses.join(',') }).trustProxy).toEqual({ addresses })
    expect(load({ trustProxy: addresses.join(', ') }).trustProxy).toEqual({ addresses })
    expect(load({ config: file('trustProxy:\n  - 10.0.0.1\n  - fd00::/8\n', 'yaml') }).trustProxy).toEqual({ addresses: ['10.0.0.1', 'fd00::/8'] })
  })

  it('precedence: --trust-proxy over AUTHCODE_TRUST_PROXY over the file', () => {
    const config = file({ trustProxy: ['10.0.0.1'] })
    expect(load({ config }).trustProxy).toEqual({ addresses: ['10.0.0.1'] })
    expect(load({ config }, { AUTHCODE_TRUST_PROXY: '2' }).trustProxy).toEqual({ hops: 2 })
    expect(load({ config, trustProxy: '192.0.2.1' }, { AUTHCODE_TRUST_PROXY: '2' }).trustProxy).toEqual({ addresses: ['192.0.2.1'] })
    expect(load({ config: file({ trustProxy: false }) }, { AUTHCODE_TRUST_PROXY: '1' }).trustProxy).toEqual({ hops: 1 })
  })

  it('true, the mode that trusted every entry the caller writes, is refused with what to give instead', () => {
    for (const message of [failure({ config: file({ trustProxy: true }) }), failure({}, { AUTHCODE_TRUST_PROXY: 'true' }), failure({ trustProxy: 'true' })]) {
      expect(message).toMatch(/^(trustProxy|AUTHCODE_TRUST_PROXY|--trust-proxy): true is no longer accepted/)
      expect(message).toMatch(/hop count/)
      expect(message).toMatch(/addresses/)
    }
    // Even when a flag would win: the unsafe setting is not left in the file.
    expect(failure({ trustProxy: '1', config: file({ trustProxy: true }) })).toMatch(/^trustProxy: true/)
  })

  it('a bad hop count or address is refused, naming the setting and the entry', () => {
    expect(failure({ config: file({ trustProxy: 0 }) })).toMatch(/trustProxy: must be >= 1/)
    expect(failure({ config: file({ trustProxy: 1.5 }) })).toMatch(/trustProxy: must be boolean,integer,array/)
    expect(failure({ config: file({ trustProxy: [] }) })).toMatch(/trustProxy: must NOT have fewer than 1 items/)
    expect(failure({ config: file({ trustProxy: ['10.0.0.1', 7] }) })).toMatch(/trustProxy\.1: must be string/)
    expect(failure({ trustProxy: '0' })).toMatch(/^--trust-proxy: the hop count must be at least 1/)
    expect(failure({}, { AUTHCODE_TRUST_PROXY: '00' })).toMatch(/^AUTHCODE_TRUST_PROXY: the hop count must be at least 1/)
    expect(failure({}, { AUTHCODE_TRUST_PROXY: '99999999999999999999' })).toMatch(/^AUTHCODE_TRUST_PROXY: the hop count/)
    const bad: Array<[string, RegExp]> = [
      ['10.0.0.256', /not an IP address or CIDR range: "10\.0\.0\.256"/],
      ['10.0.0', /not an IP address/],
      ['010.0.0.1', /not an IP address/],
      ['localhost', /not an IP address/],
      ['loopback', /not an IP address/],
      ['fe80::1%eth0', /not an IP address/],
      ['10.0.0.0/33', /prefix length of 1 to 32/],
      ['fd00::/129', /prefix length of 1 to 128/],
      ['10.0.0.0/255.0.0.0', /prefix length of 1 to 32/],
      ['10.0.0.0/', /prefix length/],
      ['0.0.0.0/0', /\/0 would trust every address/],
      ['::/0', /\/0 would trust every address/],
      ['10.0.0.1,,10.0.0.2', /not an IP address or CIDR range: ""/],
      ['10.0.0.1,', /not an IP address or CIDR range: ""/],
      ['false', /not an IP address/],
    ]
    for (const [value, message] of bad) {
      expect(failure({ trustProxy: value }), value).toMatch(new RegExp(`^--trust-proxy: .*${message.source}`))
      expect(failure({}, { AUTHCODE_TRUST_PROXY: value }), value).toMatch(new RegExp(`^AUTHCODE_TRUST_PROXY: .*${message.source}`))
    }
    expect(failure({ config: file({ trustProxy: ['10.0.0.1', ' 10.0.0.2'] }) })).toMatch(/^trustProxy: not an IP address or CIDR range: " 10\.0\.0\.2"/)
    expect(failure({ config: file({ trustProxy: ['10.0.0.1/8', '2001:db8::/0'] }) })).toMatch(/^trustProxy: .*\/0 would trust every address/)
  })

  it('the setting is deep-frozen with the rest', () => {
    const config = load({ trustProxy: '10.0.0.1,10.0.0.2' })
    expect(Object.isFrozen(config.trustProxy)).toBe(true)
    expect(config.trustProxy !== undefined && 'addresses' in config.trustProxy && Object.isFrozen(config.trustProxy.addresses)).toBe(true)
  })
})

/** Every dotted key of the schema that holds a value (recursing into sections with fixed keys). */
function schemaKeys(properties: Record<string, { properties?: Record<string, unknown> }>, prefix = ''): string[] {
  return Object.entries(properties).flatMap(([name, node]) =>
    node.properties === undefined ? [`${prefix}${name}`] : schemaKeys(node.properties as Record<string, { properties?: Record<string, unknown> }>, `${prefix}${name}.`),
  )
}

describe('AUTHCODE_* variables: one per config-file key, derived from the schema', () => {
  it('every key of the schema has exactly one variable, and no two keys share one', () => {
    const keys = schemaKeys(configFileSchema.properties as Record<string, { properties?: Record<string, unknown> }>).filter((key) => key !== '$schema')
    expect(ENV_VARIABLES.map((variable) => variable.key)).toEqual(keys)
    const names = ENV_VARIABLES.map((variable) => variable.name)
    expect(new Set([...names, ...OTHER_VARIABLES]).size).toBe(names.length + OTHER_VARIABLES.length)
    for (const name of names) expect(name).toMatch(/^AUTHCODE_[A-Z0-9]+(?:_[A-Z0-9]+)*$/)
  })

  it('the name is the key path in upper snake case; the variables that came first keep their names', () => {
    expect(variableName('lifetimes.code')).toBe('AUTHCODE_LIFETIMES_CODE')
    expect(variableName('rateLimit.loginPerIp.max')).toBe('AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX')
    expect(variableName('consent.skipForFirstParty')).toBe('AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY')
    expect(variableName('metricsPort')).toBe('AUTHCODE_METRICS_PORT')
    expect(variableName('asyncapi.document')).toBe('AUTHCODE_ASYNCAPI')
    const names = ENV_VARIABLES.map((variable) => variable.name)
    for (const old of ['AUTHCODE_DB', 'AUTHCODE_ISSUER', 'AUTHCODE_PORT', 'AUTHCODE_LOG_LEVEL', 'AUTHCODE_ASYNCAPI', 'AUTHCODE_ASYNCAPI_SCHEME', 'AUTHCODE_TRUST_PROXY']) {
      expect(names).toContain(old)
    }
  })

  it('a nested key: AUTHCODE_LIFETIMES_CODE, AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX; the section\'s other keys keep their values', () => {
    const config = load({}, { AUTHCODE_LIFETIMES_CODE: '120', AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX: '7', AUTHCODE_KEYS_CACHE_TTL: '5' })
    expect(config.lifetimes).toMatchObject({ code: 120, accessToken: 600 })
    expect(config.rateLimit.loginPerIp).toEqual({ max: 7, window: 900 })
    expect(config.keys).toEqual({ activationDelay: 60, cacheTtl: 5 })
  })

  it('an array: AUTHCODE_TRUST_PROXY, comma-separated', () => {
    expect(load({}, { AUTHCODE_TRUST_PROXY: '10.0.0.1,fd00::/8' }).trustProxy).toEqual({ addresses: ['10.0.0.1', 'fd00::/8'] })
  })

  it('booleans are true or false', () => {
    expect(load({}, { AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: 'false' }).consent.skipForFirstParty).toBe(false)
    expect(load({}, { AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: 'true' }).consent.skipForFirstParty).toBe(true)
    const insecure = load({ issuer: 'http://as.test' }, { AUTHCODE_DANGEROUSLY_ALLOW_INSECURE_ISSUER: 'true' })
    expect(insecure.dangerouslyAllowInsecureIssuer).toBe(true)
    for (const value of ['yes', '1', 'TRUE', ' true']) {
      expect(failure({}, { AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: value })).toBe(`AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: expected true or false, not ${JSON.stringify(value)}`)
    }
  })

  it('strings, enums and the scopes map (a JSON object)', () => {
    const config = load({}, { AUTHCODE_ACCESS_TOKEN_ALG: 'EdDSA', AUTHCODE_ACCESS_TOKEN_AUDIENCE: 'https://api.test', AUTHCODE_LOG_LEVEL: 'warn', AUTHCODE_LOG_FORMAT: 'json', AUTHCODE_DATA_DIR: 'state' })
    expect(config).toMatchObject({ accessToken: { alg: 'EdDSA', audience: 'https://api.test' }, logLevel: 'warn', logFormat: 'json', dataDir: join(dir, 'state') })
    const scoped = load({ config: file({ scopes: { fromFile: 'From the file' } }) }, { AUTHCODE_SCOPES: '{"orders:read":"Read your orders"}' })
    // A map is replaced whole by the variable, not merged with the file's.
    expect(Object.keys(scoped.scopes)).toEqual(['openid', 'profile', 'email', 'offline_access', 'orders:read'])
    expect(failure({}, { AUTHCODE_SCOPES: 'orders:read' })).toMatch(/^AUTHCODE_SCOPES: expected a JSON object/)
    expect(failure({}, { AUTHCODE_SCOPES: '["a"]' })).toMatch(/^AUTHCODE_SCOPES: expected a JSON object/)
    expect(failure({}, { AUTHCODE_SCOPES: '{"bad scope":"x"}' })).toMatch(/^AUTHCODE_SCOPES: /)
    expect(failure({}, { AUTHCODE_SCOPES: '{"a.b":7}' })).toMatch(/^AUTHCODE_SCOPES: must be string/)
  })

  it('a bad value stops the load with one line naming the variable, checked by the schema of the file', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ AUTHCODE_LIFETIMES_CODE: 'abc' }, /^AUTHCODE_LIFETIMES_CODE: not an integer: "abc"$/],
      [{ AUTHCODE_LIFETIMES_CODE: '1.5' }, /^AUTHCODE_LIFETIMES_CODE: not an integer/],
      [{ AUTHCODE_LIFETIMES_CODE: '601' }, /^AUTHCODE_LIFETIMES_CODE: must be <= 600$/],
      [{ AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX: '0' }, /^AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX: must be >= 1$/],
      [{ AUTHCODE_PORT: '99999999999999999999' }, /^AUTHCODE_PORT: not an integer/],
      [{ AUTHCODE_ACCESS_TOKEN_ALG: 'none' }, /^AUTHCODE_ACCESS_TOKEN_ALG: must be equal to one of the allowed values$/],
      [{ AUTHCODE_METRICS_PORT: '0' }, /^AUTHCODE_METRICS_PORT: must be >= 1$/],
      [{ AUTHCODE_METRICS_PORT: '65536' }, /^AUTHCODE_METRICS_PORT: must be <= 65535$/],
    ]
    for (const [env, message] of cases) {
      const text = failure({}, env)
      expect(text, JSON.stringify(env)).toMatch(message)
      expect(text).not.toContain('\n')
    }
    // Two bad variables: both named, on one line.
    expect(failure({}, { AUTHCODE_LIFETIMES_CODE: '601', AUTHCODE_DB_POOL_SIZE: '0' })).toBe('AUTHCODE_DB_POOL_SIZE: must be >= 1; AUTHCODE_LIFETIMES_CODE: must be <= 600')
  })

  it('precedence: a flag over the variable over the file over the default, key by key', () => {
    const config = file({ lifetimes: { code: 60, idToken: 1800 }, rateLimit: { loginPerIp: { max: 9, window: 60 } }, metricsPort: 9100, dbPoolSize: 3 })
    const fromFile = load({ config })
    expect(fromFile.lifetimes).toMatchObject({ code: 60, idToken: 1800, accessToken: 600 })
    expect(fromFile.rateLimit.loginPerIp).toEqual({ max: 9, window: 60 })
    expect(fromFile.dbPoolSize).toBe(3)
    const env = { AUTHCODE_LIFETIMES_CODE: '120', AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX: '7', AUTHCODE_METRICS_PORT: '9200' }
    const fromEnv = load({ config }, env)
    expect(fromEnv.lifetimes).toMatchObject({ code: 120, idToken: 1800, accessToken: 600 })
    expect(fromEnv.rateLimit.loginPerIp).toEqual({ max: 7, window: 60 })
    expect(fromEnv.metricsPort).toBe(9200)
    expect(fromEnv.dbPoolSize).toBe(3)
    expect(load({ config, metricsPort: 9300 }, env).metricsPort).toBe(9300)
  })

  it('a bad variable is refused even where a flag wins, and an empty one counts as unset', () => {
    expect(failure({ port: 4100 }, { AUTHCODE_PORT: 'eighty' })).toMatch(/^AUTHCODE_PORT: not an integer/)
    expect(load({}, { AUTHCODE_LIFETIMES_CODE: '', AUTHCODE_CONSENT_SKIP_FOR_FIRST_PARTY: '', AUTHCODE_CONFIG: '' }).lifetimes.code).toBe(300)
  })

  it('the package README lists exactly these variables, each with its key', () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8')
    const rows = [...readme.matchAll(/^\| `(AUTHCODE_\w+)` \| `([\w.]+)` \|/gm)].map((m) => [m[1], m[2]])
    expect(rows).toEqual(ENV_VARIABLES.map((variable) => [variable.name, variable.key]))
  })

  it('AUTHCODE_ASYNCAPI_SCHEME may name the scheme of a document given elsewhere (the file\'s required document is not asked of a variable)', () => {
    expect(failure({}, { AUTHCODE_ASYNCAPI_SCHEME: 'chatOAuth' })).toMatch(/^asyncapi: a scheme is named but no AsyncAPI document is given/)
  })
})

describe('loadConfig: host, --host, AUTHCODE_HOST: an IP literal or a host name', () => {
  it('default localhost; flag over variable over file', () => {
    expect(load().host).toBe('localhost')
    const config = file({ host: 'auth.internal' })
    expect(load({ config }).host).toBe('auth.internal')
    expect(load({ config }, { AUTHCODE_HOST: '0.0.0.0' }).host).toBe('0.0.0.0')
    expect(load({ config, host: '::' }, { AUTHCODE_HOST: '0.0.0.0' }).host).toBe('::')
  })

  it('IPv4, IPv6 (brackets dropped, as listen takes it) and host names pass', () => {
    for (const [given, host] of [['127.0.0.1', '127.0.0.1'], ['::1', '::1'], ['[::1]', '::1'], ['fd00::17', 'fd00::17'], ['auth-1.example.com', 'auth-1.example.com'], ['localhost', 'localhost']]) {
      expect(load({ host: given }).host).toBe(host)
    }
  })

  it('anything else is refused, naming the setting it came from', () => {
    for (const bad of ['bad host', 'http://auth.test', 'auth.test:4000', '-auth.test', 'auth..test', '10.0.0.300', '1.2.3', 'fe80::1%eth0', `${'a'.repeat(64)}.test`, '[auth.test]']) {
      expect(failure({ host: bad }), bad).toBe(`--host: not an IP address or host name: ${JSON.stringify(bad)}`)
    }
    expect(failure({}, { AUTHCODE_HOST: 'a b' })).toMatch(/^AUTHCODE_HOST: not an IP address or host name/)
    expect(failure({ config: file({ host: 'a b' }) })).toMatch(/^host: not an IP address or host name/)
  })
})

describe('loadConfig: metricsPort and metricsHost (the Prometheus listener)', () => {
  it('no metrics listener by default; its host defaults to loopback', () => {
    const config = load()
    expect(config.metricsPort).toBeUndefined()
    expect(config.metricsHost).toBe('127.0.0.1')
  })

  it('from the flag, the variable or the file', () => {
    expect(load({ metricsPort: 9100 }).metricsPort).toBe(9100)
    expect(load({}, { AUTHCODE_METRICS_PORT: '9101', AUTHCODE_METRICS_HOST: '0.0.0.0' })).toMatchObject({ metricsPort: 9101, metricsHost: '0.0.0.0' })
    expect(load({ config: file({ metricsPort: 9102, metricsHost: '::1' }) })).toMatchObject({ metricsPort: 9102, metricsHost: '::1' })
  })

  it('never the public port', () => {
    expect(failure({ metricsPort: 4000 })).toMatch(/^--metrics-port: must differ from the port \(4000\)/)
    expect(failure({ port: 4100 }, { AUTHCODE_METRICS_PORT: '4100' })).toMatch(/^AUTHCODE_METRICS_PORT: must differ/)
    expect(failure({ config: file({ port: 4200, metricsPort: 4200 }) })).toMatch(/^metricsPort: must differ/)
  })

  it('a bad value names the setting', () => {
    expect(failure({ config: file({ metricsPort: 0 }) })).toMatch(/metricsPort: must be >= 1/)
    expect(failure({}, { AUTHCODE_METRICS_HOST: 'not a host' })).toMatch(/^AUTHCODE_METRICS_HOST: not an IP address or host name/)
    expect(failure({ config: file({ metricsHost: 'not a host' }) })).toMatch(/^metricsHost: not an IP address or host name/)
  })
})

describe('loadConfig: adminPort and adminHost (the admin API\'s listener)', () => {
  it('no admin API by default; its host defaults to loopback; wrong admin tokens: 20 a minute per address', () => {
    const config = load()
    expect(config.adminPort).toBeUndefined()
    expect(config.adminHost).toBe('127.0.0.1')
    expect(config.rateLimit.adminAuth).toEqual({ max: 20, window: 60 })
  })

  it('from the flag, the variable or the file', () => {
    expect(load({ adminPort: 9200 }).adminPort).toBe(9200)
    expect(load({}, { AUTHCODE_ADMIN_PORT: '9201', AUTHCODE_ADMIN_HOST: '::1' })).toMatchObject({ adminPort: 9201, adminHost: '::1' })
    expect(load({ config: file({ adminPort: 9202, adminHost: '10.0.0.5', rateLimit: { adminAuth: { max: 3 } } }) })).toMatchObject({
      adminPort: 9202,
      adminHost: '10.0.0.5',
      rateLimit: { adminAuth: { max: 3, window: 60 } },
    })
  })

  it('never the public port, nor the metrics port', () => {
    expect(failure({ adminPort: 4000 })).toMatch(/^--admin-port: must differ from the port \(4000\)/)
    expect(failure({ port: 4100 }, { AUTHCODE_ADMIN_PORT: '4100' })).toMatch(/^AUTHCODE_ADMIN_PORT: must differ from the port/)
    expect(failure({ config: file({ port: 4200, adminPort: 4200 }) })).toMatch(/^adminPort: must differ from the port/)
    expect(failure({ metricsPort: 9300, adminPort: 9300 })).toMatch(/^--admin-port: must differ from the metrics port \(9300\)/)
  })

  it('a bad value names the setting', () => {
    expect(failure({ config: file({ adminPort: 70000 }) })).toMatch(/adminPort: must be <= 65535/)
    expect(failure({}, { AUTHCODE_ADMIN_HOST: 'not a host' })).toMatch(/^AUTHCODE_ADMIN_HOST: not an IP address or host name/)
    expect(failure({}, { AUTHCODE_RATE_LIMIT_ADMIN_AUTH_MAX: '0' })).toMatch(/^AUTHCODE_RATE_LIMIT_ADMIN_AUTH_MAX: /)
  })
})

describe('loadConfig: resources (RFC 8707 resource indicators)', () => {
  const mcp = { uri: 'https://mcp.example.com/mcp', name: 'MCP server', scopes: ['profile'], accessTokenLifetime: 300 }

  it('none by default; the file lists them; AUTHCODE_RESOURCES (a JSON array) replaces the list', () => {
    expect(load().resources).toEqual([])
    expect(load({ config: file({ resources: [mcp] }) }).resources).toEqual([mcp])
    const api = { uri: 'https://api.example.com', name: 'API', scopes: ['email'] }
    expect(load({ config: file({ resources: [mcp] }) }, { AUTHCODE_RESOURCES: JSON.stringify([api]) }).resources).toEqual([api])
  })

  it('refused with the key named: a relative URI or a fragment, the issuer, a URI twice, a scope the server does not offer, a bad shape', () => {
    expect(failure({ config: file({ resources: [{ ...mcp, uri: '/mcp' }] }) })).toMatch(/^resources\[0\]\.uri: must be an absolute URI/)
    expect(failure({ config: file({ resources: [{ ...mcp, uri: 'https://mcp.example.com/mcp#x' }] }) })).toMatch(/^resources\[0\]\.uri: must not include a fragment/)
    expect(failure({ config: file({ issuer: 'https://auth.example.com', resources: [{ ...mcp, uri: 'https://auth.example.com' }] }) })).toMatch(/must not be the issuer/)
    expect(failure({ config: file({ resources: [mcp, mcp] }) })).toMatch(/^resources\[1\]\.uri: .* is listed twice/)
    expect(failure({ config: file({ resources: [{ ...mcp, scopes: ['admin'] }] }) })).toMatch(/^resources\[0\]\.scopes: admin is not a scope the server offers/)
    expect(failure({ config: file({ resources: [{ uri: mcp.uri, name: 'x' }] }) })).toMatch(/resources/)
    expect(failure({}, { AUTHCODE_RESOURCES: '{"uri":"x"}' })).toMatch(/^AUTHCODE_RESOURCES: expected a JSON array/)
  })
})

describe('loadConfig: registration (RFC 7591)', () => {
  it('off by default; --registration over AUTHCODE_REGISTRATION_MODE over the file; registrationPerIp 20 an hour unless set', () => {
    expect(load().registration).toEqual({ mode: 'off', maxClients: 10_000 })
    expect(load().rateLimit.registrationPerIp).toEqual({ max: 20, window: 3600 })
    const config = file({ registration: { mode: 'token' }, rateLimit: { registrationPerIp: { max: 5 } } })
    expect(load({ config }).registration).toEqual({ mode: 'token', maxClients: 10_000 })
    expect(load({ config }).rateLimit.registrationPerIp).toEqual({ max: 5, window: 3600 })
    expect(load({ config }, { AUTHCODE_REGISTRATION_MODE: 'open', AUTHCODE_REGISTRATION_MAX_CLIENTS: '50' }).registration).toEqual({ mode: 'open', maxClients: 50 })
    expect(load({ config, registration: 'off' }, { AUTHCODE_REGISTRATION_MODE: 'open' }).registration).toEqual({ mode: 'off', maxClients: 10_000 })
  })

  it('refuses another mode in the file or the variable, naming where', () => {
    expect(failure({ config: file({ registration: { mode: 'yes' } }) })).toMatch(/registration\.mode: must be equal to one of the allowed values/)
    expect(failure({ config: file({ registration: { open: true } }) })).toMatch(/registration\.open: unknown setting/)
    expect(failure({}, { AUTHCODE_REGISTRATION_MODE: 'on' })).toMatch(/^AUTHCODE_REGISTRATION_MODE: must be equal to one of the allowed values/)
  })
})
