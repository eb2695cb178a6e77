/**
 * Pending logins over HTTP (SECURITY 9): anonymous `GET /login` requests from one address — each
 * stores an attempt — cannot push out another address's attempt, whichever login state store the
 * app uses; one address holds at most `maxPerCaller` attempts. The Express adapter counts by
 * `req.ip`, the Web handler by the `callerAddress` it is given.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { LoginStateLimits, LoginStateStore } from '../src/login/state-store.js'
import { MemoryLoginStateStore } from '../src/storage/memory.js'
import { SqliteLoginStateStore } from '../src/storage/sqlite.js'
import { AuthHandler } from '../src/web/handler.js'
import { FakeAuthorizationServer } from './fake-as.js'
import { Caller, clientFor, startApp, type TestApp } from './helpers.js'

const SESSION_COOKIE = '__Host-authcode_app_session'
const ATTACKER = '127.0.0.2'
const USER = '127.0.0.3'

const dir = await mkdtemp(path.join(tmpdir(), 'authcode-client-pending-'))
afterAll(() => rm(dir, { recursive: true, force: true }))
let files = 0

/** Each store the package ships, with a way to count what it holds. */
const STORES: { name: string; open: (limits: LoginStateLimits) => { store: LoginStateStore; count: () => number } }[] = [
  {
    name: 'MemoryLoginStateStore',
    open: (limits) => {
      const store = new MemoryLoginStateStore(limits)
      return { store, count: () => store.size }
    },
  },
  {
    name: 'SqliteLoginStateStore',
    open: (limits) => {
      const db = new Database(path.join(dir, `${(files += 1)}.db`))
      const store = new SqliteLoginStateStore(db, limits)
      const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM authcode_client_logins')
      return { store, count: () => count.get()?.n ?? 0 }
    },
  },
]

let app: TestApp | undefined
const callers: Caller[] = []

afterEach(async () => {
  for (const caller of callers.splice(0)) caller.close()
  await app?.close()
  app = undefined
})

async function started(store: LoginStateStore) {
  const fake = new FakeAuthorizationServer()
  app = await startApp(clientFor(fake, { loginStateStore: store }))
  const user = new Caller(app, USER)
  const attacker = new Caller(app, ATTACKER, { keepCookies: false })
  callers.push(user, attacker)
  return { fake, user, attacker }
}

/** `count` anonymous `GET /login` from one caller, a few in flight at once. */
async function flood(caller: Caller, count: number): Promise<void> {
  let sent = 0
  const worker = async (): Promise<void> => {
    while (sent < count) {
      sent += 1
      const answer = await caller.get('/login')
      expect(answer.status).toBe(302)
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
}

for (const { name, open } of STORES) {
  describe(`pending logins over HTTP, ${name} (SECURITY 9)`, () => {
    it("SECURITY 9: 2,000 anonymous /login requests from one address do not evict another address's pending login", async () => {
      const { store, count } = open({ maxEntries: 2000 })
      const { fake, user, attacker } = await started(store)
      const login = await user.get('/login?returnTo=/inbox')
      expect(login.status).toBe(302)

      await flood(attacker, 2100)
      // The attacker's address holds its share (100 by default), no more; the user's attempt is still there.
      expect(count()).toBe(101)

      const done = await user.get(fake.authorize(new URL(login.location ?? '')))
      expect([done.status, done.location]).toEqual([303, '/inbox'])
      expect(user.cookies.get(SESSION_COOKIE)).toBeDefined()
    })

    it("SECURITY 9: one address's pending logins are capped at maxPerCaller: its oldest goes first, others' stay", async () => {
      const { store, count } = open({ maxPerCaller: 5 })
      const { fake, user, attacker } = await started(store)
      const other = await attacker.get('/login')
      const logins = []
      for (let i = 0; i < 6; i += 1) logins.push(await user.get(`/login?returnTo=/tab${i}`))
      expect(count()).toBe(6)

      const oldest = await user.get(fake.authorize(new URL(logins[0]?.location ?? '')))
      expect(oldest.status).toBe(400)
      expect(oldest.body).toContain('LOGIN_NOT_FOUND')
      const newest = await user.get(fake.authorize(new URL(logins[5]?.location ?? '')))
      expect([newest.status, newest.location]).toEqual([303, '/tab5'])
      // The other address's attempt was never touched (its cookie was thrown away, so it can only be counted).
      expect(other.status).toBe(302)
      expect(count()).toBe(5)
    })
  })
}

describe('pending logins through the Web handler (SECURITY 9)', () => {
  it('SECURITY 9: handle(request, { callerAddress }) counts each login against that address', async () => {
    const fake = new FakeAuthorizationServer()
    const store = new MemoryLoginStateStore({ maxEntries: 2000 })
    const handler = new AuthHandler({ client: clientFor(fake, { loginStateStore: store }) })
    const login = await handler.handle(new Request('https://rp.test/login'), { callerAddress: '2001:db8:0:1::7' })
    for (let i = 0; i < 2100; i += 1) {
      // One subscriber's /64: every address in it counts as one caller.
      const answer = await handler.handle(new Request('https://rp.test/login'), { callerAddress: `2001:db8:0:2::${(i % 0xffff).toString(16)}` })
      expect(answer?.status).toBe(302)
    }
    expect(store.size).toBe(101)
    const cookie = login?.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ') ?? ''
    const done = await handler.handle(new Request(fake.authorize(new URL(login?.headers.get('location') ?? '')), { headers: { cookie } }))
    expect(done?.status).toBe(303)
  })
})
