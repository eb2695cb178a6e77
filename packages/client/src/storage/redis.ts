/**
 * `@authcode/client/redis`: stores over Redis (ioredis), shared by every process of an app on any
 * number of machines: `RedisTokenStore` for sessions, `RedisLoginStateStore` for login attempts
 * (both may use one connection). Every step that must be atomic is one Lua script, which Redis runs
 * alone: a login attempt is read and deleted in one script (used once, whichever process asks);
 * the refresh lease is checked and taken in one script (of two processes racing, one wins). Keys
 * expire in Redis itself, so abandoned attempts and sessions need no sweeping.
 *
 * A Redis that is down or unreachable makes each call fail within `timeoutMs` with a `StoreError`
 * (`STORE_UNAVAILABLE`) instead of queueing it; ioredis reconnects by itself and the next call
 * succeeds, without a restart.
 *
 * ioredis is an optional peer dependency: install it to use this module. Tokens and PKCE verifiers
 * are stored as given (not encrypted): protect the Redis server like a secret (a password, TLS, a
 * private network).
 */
import { createHash } from 'node:crypto'
import { StoreError } from '../errors.js'
import { loginLimits, type LoginState, type LoginStateLimits, type LoginStateStore } from '../login/state-store.js'
import type { BackchannelLogout, SessionRecord, TokenStore } from '../tokens/store.js'

/**
 * What the stores use of a Redis client: an ioredis `Redis` (`new Redis(process.env.REDIS_URL)`)
 * has all of it. Declared here, not imported from ioredis, so these declarations compile without
 * ioredis's own.
 */
export interface RedisConnection {
  /** ioredis's connection state (`ready`, `reconnecting`, …). */
  readonly status: string
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>
  hget(key: string, field: string): Promise<string | null>
  del(...keys: string[]): Promise<number>
}

/** What both Redis stores accept. */
export interface RedisStoreOptions {
  /** The start of every key the store writes; default `authcode:`. Apps sharing one Redis need their own. */
  keyPrefix?: string
  /** How long one operation may take before it fails with `STORE_UNAVAILABLE`, in milliseconds; default 2000. */
  timeoutMs?: number
}

const DEFAULT_PREFIX = 'authcode:'
const DEFAULT_TIMEOUT_MS = 2000

/** ioredis states in which a command would wait for a connection that is not coming soon. */
const DOWN = new Set(['reconnecting', 'close', 'end'])

/** Checks the shared options (a `TypeError` on a mistake). */
function storeOptions(name: string, redis: RedisConnection, options: RedisStoreOptions): { prefix: string; timeoutMs: number } {
  if (typeof redis !== 'object' || redis === null || typeof (redis as { evalsha?: unknown }).evalsha !== 'function') {
    throw new TypeError(`${name} needs an ioredis client (new Redis(url))`)
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const prefix = options.keyPrefix ?? DEFAULT_PREFIX
  if (typeof prefix !== 'string' || /[{}\s]/.test(prefix)) throw new TypeError('keyPrefix must be a string without braces or spaces')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive number of milliseconds')
  return { prefix, timeoutMs }
}

/** A Lua script, sent once and run by its SHA-1 afterwards (EVALSHA, EVAL after a Redis restart). */
class Script {
  readonly #source: string
  readonly #sha: string

  constructor(source: string) {
    this.#source = source
    this.#sha = createHash('sha1').update(source).digest('hex')
  }

  async run(redis: RedisConnection, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return redis.eval(this.#source, keys.length, ...keys, ...args)
    }
  }
}

/**
 * Runs one store operation: refused at once while ioredis is reconnecting (nothing is queued to run
 * later), bounded by `timeoutMs` otherwise; any failure becomes a `StoreError` naming the store and
 * the operation, never a key or a value.
 */
async function guarded<T>(redis: RedisConnection, timeoutMs: number, what: string, run: () => Promise<T>): Promise<T> {
  if (DOWN.has(redis.status)) throw new StoreError(`${what} failed: Redis is not connected (${redis.status})`)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError(`${what} failed: Redis did not answer within ${timeoutMs} ms`)), timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([run(), timeout])
  } catch (error) {
    if (error instanceof StoreError) throw error
    throw new StoreError(`${what} failed`, error)
  } finally {
    clearTimeout(timer)
  }
}

// A session is one hash: `record` (the JSON), `expires_at`, and the lease (`lock_owner`, `lock_until`).

const SET_SESSION = new Script(`
redis.call('HSET', KEYS[1], 'record', ARGV[1])
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'expires_at')
  redis.call('PERSIST', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1`)

const ACQUIRE_LEASE = new Script(`
local record, expires, owner, held = unpack(redis.call('HMGET', KEYS[1], 'record', 'expires_at', 'lock_owner', 'lock_until'))
local now = tonumber(ARGV[3])
if not record then return 0 end
if expires and tonumber(expires) <= now then return 0 end
if owner and owner ~= ARGV[1] and tonumber(held) > now then return 0 end
redis.call('HSET', KEYS[1], 'lock_owner', ARGV[1], 'lock_until', ARGV[2])
return 1`)

const RELEASE_LEASE = new Script(`
if redis.call('HGET', KEYS[1], 'lock_owner') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'lock_owner', 'lock_until')
end
return 1`)

/*
 * Back-channel logout: a set per login session at the server (`logout:sid:<hash of iss and sid>`)
 * and per user (`logout:sub:<hash of iss and sub>`) holds the keys of its sessions, and lives at
 * least as long as they do; each logout token's `jti` is a key of its own until the token expires.
 * Every script touches one key, so the keys may live in any slot.
 */

/** Adds a session key to an index set, which then lives at least as long as the session (forever with a session that never expires). */
const INDEX_SESSION = new Script(`
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
else
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl ~= -1 and ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
return 1`)

/** Records a logout token's jti until it expires: 1 the first time, 0 for a replay. */
const USE_LOGOUT_JTI = new Script(`
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return 1 end
return 0`)

const INDEXED_SESSIONS = new Script(`return redis.call('SMEMBERS', KEYS[1])`)

/** Deletes the session when its ID token claims are the ones the logout token names: 1 when it did. */
const END_SESSION = new Script(`
local value = redis.call('HGET', KEYS[1], 'record')
if not value then return 0 end
local ok, record = pcall(cjson.decode, value)
if not ok or type(record) ~= 'table' or type(record.claims) ~= 'table' then return 0 end
local claims = record.claims
if claims.iss ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and claims.sid ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' and claims.sub ~= ARGV[3] then return 0 end
redis.call('DEL', KEYS[1])
return 1`)

const UNINDEX = new Script(`redis.call('SREM', KEYS[1], unpack(ARGV)) return 1`)

/** The part of an index key that names the issuer and a `sid` or `sub` (hashed: any characters, fixed length). */
const indexName = (iss: string, value: string): string => createHash('sha256').update(`${iss}\0${value}`).digest('base64url')

/**
 * Sessions in Redis hashes that expire with the session (`SessionRecord.expiresAt`); the refresh
 * lease lives in the session's hash, so deleting or expiring the session drops it.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { RedisLoginStateStore, RedisTokenStore } from '@authcode/client/redis'
 * const redis = new Redis(process.env.REDIS_URL)
 * const client = new OAuthClient({ …, loginStateStore: new RedisLoginStateStore(redis), tokenStore: new RedisTokenStore(redis) })
 * ```
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisConnection
  readonly #prefix: string
  readonly #logoutPrefix: string
  readonly #timeoutMs: number

  /** Uses an ioredis client; the caller keeps ownership of the connection (and closes it). */
  constructor(redis: RedisConnection, options: RedisStoreOptions = {}) {
    const { prefix, timeoutMs } = storeOptions('RedisTokenStore', redis, options)
    this.#redis = redis
    this.#prefix = `${prefix}session:`
    this.#logoutPrefix = `${prefix}logout:`
    this.#timeoutMs = timeoutMs
  }

  async get(key: string, now: number): Promise<SessionRecord | undefined> {
    const value = await this.#run('get', () => this.#redis.hget(this.#prefix + key, 'record'))
    if (value === null) return undefined
    const record = JSON.parse(value) as SessionRecord
    return record.expiresAt !== undefined && record.expiresAt <= now ? undefined : record
  }

  async set(key: string, record: SessionRecord): Promise<void> {
    const { expiresAt } = record
    if (expiresAt !== undefined && expiresAt <= record.updatedAt) {
      await this.delete(key)
      return
    }
    // Redis expires the key after the same span by its own clock.
    const ttlMs = expiresAt === undefined ? '' : (expiresAt - record.updatedAt) * 1000
    await this.#run('set', () => SET_SESSION.run(this.#redis, [this.#prefix + key], [JSON.stringify(record), expiresAt ?? '', ttlMs]))
    // Found again by a back-channel logout that names its login session or its user.
    const { iss, sid, sub } = record.claims ?? {}
    if (typeof iss !== 'string') return
    for (const [kind, value] of [['sid', sid], ['sub', sub]] as const) {
      if (typeof value !== 'string') continue
      await this.#run('set', () => INDEX_SESSION.run(this.#redis, [this.#logoutIndex(kind, iss, value)], [key, ttlMs]))
    }
  }

  /**
   * The `jti` first (one script, so a replay is refused on every process), then each session of
   * the index whose claims match is deleted (one script each) and leaves the index.
   */
  async endSessions(logout: BackchannelLogout, now: number): Promise<number | 'replayed'> {
    const ttlMs = Math.max(1, (logout.expiresAt - now) * 1000)
    const jtiKey = `${this.#logoutPrefix}jti:${indexName(logout.iss, logout.jti)}`
    const first = await this.#run('endSessions', () => USE_LOGOUT_JTI.run(this.#redis, [jtiKey], [ttlMs]))
    if (first !== 1) return 'replayed'
    const [kind, value] = logout.sid !== undefined ? (['sid', logout.sid] as const) : (['sub', logout.sub] as const)
    if (value === undefined) return 0
    const index = this.#logoutIndex(kind, logout.iss, value)
    const keys = await this.#run('endSessions', () => INDEXED_SESSIONS.run(this.#redis, [index], []))
    if (!Array.isArray(keys) || keys.length === 0) return 0
    let ended = 0
    for (const key of keys as string[]) {
      const args = [logout.iss, logout.sid ?? '', logout.sub ?? '']
      if ((await this.#run('endSessions', () => END_SESSION.run(this.#redis, [this.#prefix + key], args))) === 1) ended++
    }
    await this.#run('endSessions', () => UNINDEX.run(this.#redis, [index], keys as string[]))
    return ended
  }

  #logoutIndex(kind: 'sid' | 'sub', iss: string, value: string): string {
    return `${this.#logoutPrefix}${kind}:${indexName(iss, value)}`
  }

  async delete(key: string): Promise<void> {
    await this.#run('delete', () => this.#redis.del(this.#prefix + key))
  }

  async acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean> {
    const won = await this.#run('acquireRefreshLock', () => ACQUIRE_LEASE.run(this.#redis, [this.#prefix + key], [owner, until, now]))
    return won === 1
  }

  async releaseRefreshLock(key: string, owner: string): Promise<void> {
    await this.#run('releaseRefreshLock', () => RELEASE_LEASE.run(this.#redis, [this.#prefix + key], [owner]))
  }

  #run<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return guarded(this.#redis, this.#timeoutMs, `RedisTokenStore: ${operation}`, run)
  }
}

/*
 * Login attempts, every key under one hash tag (`{logins}`: one slot, so the scripts may touch
 * them together): `entry:<id>` the attempt's JSON (expiring with it), `all` and `caller:<caller>`
 * the ids oldest first (sorted sets scored by a counter, `seq`), `exp` the ids by expiry, `owner`
 * each id's caller.
 */
const REMOVE = `
local base = KEYS[1]
local function remove(id)
  redis.call('DEL', base .. 'entry:' .. id)
  redis.call('ZREM', base .. 'all', id)
  redis.call('ZREM', base .. 'exp', id)
  local caller = redis.call('HGET', base .. 'owner', id)
  if caller then
    redis.call('ZREM', base .. 'caller:' .. caller, id)
    redis.call('HDEL', base .. 'owner', id)
  end
end
`

/** Drops the expired, then the caller's oldest past maxPerCaller, then the oldest past maxEntries; then keeps the new one. */
const SAVE_LOGIN = new Script(`${REMOVE}
local id, value, caller = ARGV[1], ARGV[2], ARGV[3]
local created, expires, ttl = ARGV[4], ARGV[5], ARGV[6]
local maxPerCaller, maxEntries = tonumber(ARGV[7]), tonumber(ARGV[8])
remove(id)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', base .. 'exp', '-inf', created)) do remove(old) end
if caller ~= '' then
  local extra = redis.call('ZCARD', base .. 'caller:' .. caller) - maxPerCaller + 1
  if extra > 0 then
    for _, old in ipairs(redis.call('ZRANGE', base .. 'caller:' .. caller, 0, extra - 1)) do remove(old) end
  end
end
local extra = redis.call('ZCARD', base .. 'all') - maxEntries + 1
if extra > 0 then
  for _, old in ipairs(redis.call('ZRANGE', base .. 'all', 0, extra - 1)) do remove(old) end
end
local seq = redis.call('INCR', base .. 'seq')
redis.call('SET', base .. 'entry:' .. id, value, 'PX', ttl)
redis.call('ZADD', base .. 'all', seq, id)
redis.call('ZADD', base .. 'exp', expires, id)
if caller ~= '' then
  redis.call('ZADD', base .. 'caller:' .. caller, seq, id)
  redis.call('HSET', base .. 'owner', id, caller)
end
return 1`)

/** Returns the attempt and removes it, in one step: a second take, from any process, finds nothing. */
const TAKE_LOGIN = new Script(`${REMOVE}
local value = redis.call('GET', base .. 'entry:' .. ARGV[1])
remove(ARGV[1])
return value`)

/**
 * Login attempts in Redis, bounded like `MemoryLoginStateStore` (see `LoginStateLimits`): each save
 * drops, in one script, the expired attempts, then the caller's oldest past `maxPerCaller`, then
 * the oldest of all past `maxEntries`; an attempt's key expires with it.
 */
export class RedisLoginStateStore implements LoginStateStore {
  readonly #redis: RedisConnection
  readonly #base: string
  readonly #timeoutMs: number
  readonly #limits: Readonly<Required<LoginStateLimits>>

  /** Uses an ioredis client (it may be the one a `RedisTokenStore` uses); the caller keeps ownership of it. */
  constructor(redis: RedisConnection, options: RedisStoreOptions & LoginStateLimits = {}) {
    const { prefix, timeoutMs } = storeOptions('RedisLoginStateStore', redis, options)
    this.#limits = loginLimits({ maxEntries: options.maxEntries, maxPerCaller: options.maxPerCaller })
    this.#redis = redis
    this.#base = `${prefix}{logins}:`
    this.#timeoutMs = timeoutMs
  }

  async save(loginId: string, state: LoginState): Promise<void> {
    const ttlMs = Math.max(1, (state.expiresAt - state.createdAt) * 1000)
    const { maxPerCaller, maxEntries } = this.#limits
    const args = [loginId, JSON.stringify(state), state.caller ?? '', state.createdAt, state.expiresAt, ttlMs, maxPerCaller, maxEntries]
    await this.#run('save', () => SAVE_LOGIN.run(this.#redis, [this.#base], args))
  }

  async take(loginId: string, now: number): Promise<LoginState | undefined> {
    const value = await this.#run('take', () => TAKE_LOGIN.run(this.#redis, [this.#base], [loginId]))
    if (typeof value !== 'string') return undefined
    const state = JSON.parse(value) as LoginState
    return state.expiresAt > now ? state : undefined
  }

  #run<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return guarded(this.#redis, this.#timeoutMs, `RedisLoginStateStore: ${operation}`, run)
  }
}
