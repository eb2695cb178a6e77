/**
 * Round trips to PostgreSQL per request on the login's hot path (issue #15): a code exchange and a
 * refresh each send at most three statements — the client; the code or refresh token with its
 * grant and user; the spend with the tokens it issues — and a returning user's authorization
 * request at most four (session, client, consent, then the grant with its code), so one instance
 * is not bound by the database's latency.
 * Counted at the driver (postgres.js's `postgres:query` diagnostics channel) while the server, in this process, answers the request.
 *
 * Needs `AUTHCODE_TEST_PG` (CI sets it): a database of its own is created and dropped.
 */
import { randomBytes } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresDatabase } from '../../src/storage/postgres.js'
import { Browser, authorize, authorizeQuery, basicAuth, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

const ADMIN_URL = process.env.AUTHCODE_TEST_PG

/** Every statement postgres.js sends while `run` is pending, by its SQL text (the start of its `postgres:query` tracing channel). */
async function statementsDuring<T>(run: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = []
  const started = channel('tracing:postgres:query:start')
  const onStart = (context: unknown) => void statements.push((context as { query: string }).query)
  started.subscribe(onStart)
  try {
    return { result: await run(), statements }
  } finally {
    started.unsubscribe(onStart)
  }
}

if (ADMIN_URL === undefined || ADMIN_URL === '') {
  describe('PostgreSQL round trips per token request', () => {
    it.skip('skipped: set AUTHCODE_TEST_PG to a PostgreSQL URL (CI does) to count the statements of a code exchange and a refresh', () => {})
  })
} else {
  describe('PostgreSQL round trips per token request', () => {
    const name = `authcode_rt_${process.pid}_${randomBytes(4).toString('hex')}`
    const url = new URL(ADMIN_URL)
    url.pathname = `/${name}`
    const admin = async (statement: string) => {
      const db = openPostgresDatabase(ADMIN_URL, { poolSize: 1 })
      try {
        await sql.raw(statement).execute(db)
      } finally {
        await db.destroy()
      }
    }
    let server: TestServer
    let client: TestClient
    let user: { username: string; password: string }

    beforeAll(async () => {
      await admin(`create database "${name}"`)
      server = await startServer({ consent: { skipForFirstParty: false } }, { db: url.href })
      client = await server.addClient()
      user = await server.addUser()
    })

    afterAll(async () => {
      await server?.close()
      await admin(`drop database if exists "${name}" with (force)`)
    })

    const exchange = async (browser: Browser) => {
      const { verifier, challenge } = pkcePair()
      const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
      const code = callback?.searchParams.get('code') ?? ''
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      return statementsDuring(() => postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, client.secret ?? '') }))
    }

    it('a code exchange sends at most 3 statements, and a refresh too', async () => {
      const browser = new Browser()
      await exchange(browser) // the first one warms the key ring and the prepared statements
      const { result: response, statements } = await exchange(browser)
      expect(response.status).toBe(200)
      expect(statements.length, statements.join('\n')).toBeGreaterThan(0) // the channel is heard
      expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(3)

      const { refresh_token } = (await response.json()) as { refresh_token: string }
      const refreshed = await statementsDuring(() =>
        postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token }, { authorization: basicAuth(client.clientId, client.secret ?? '') }),
      )
      expect(refreshed.result.status).toBe(200)
      expect(refreshed.statements.length, refreshed.statements.join('\n')).toBeGreaterThan(0)
      expect(refreshed.statements.length, refreshed.statements.join('\n')).toBeLessThanOrEqual(3)
    })

    it('a returning user\'s authorization request sends at most 4 statements, the grant and its code as one', async () => {
      const browser = new Browser()
      await exchange(browser) // signs in and remembers the consent
      const { challenge } = pkcePair()
      const { result: response, statements } = await statementsDuring(() => browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge })}`))
      expect(response.status).toBe(302)
      expect(new URL(response.headers.get('location') ?? '').searchParams.get('code')).toBeTruthy()
      expect(statements.length, statements.join('\n')).toBeGreaterThan(0)
      expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(4)
    })

    it('the one-statement spend keeps the rules: a replayed code is refused and revokes what it issued, a reused refresh token revokes the family', async () => {
      const browser = new Browser()
      const { verifier, challenge } = pkcePair()
      const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
      const code = callback?.searchParams.get('code') ?? ''
      const auth = { authorization: basicAuth(client.clientId, client.secret ?? '') }
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      // Two at once: exactly one spends the code.
      const answers = await Promise.all([postForm(`${server.url}/token`, form, auth), postForm(`${server.url}/token`, form, auth)])
      expect(answers.map((answer) => answer.status).toSorted()).toEqual([200, 400])
      const winner = answers.find((answer) => answer.status === 200)
      const { access_token, refresh_token } = (await winner?.json()) as { access_token: string; refresh_token: string }
      // The replay revoked the grant: its access token is inactive, its refresh token refused.
      const introspected = await postForm(`${server.url}/introspect`, { token: access_token }, auth)
      expect(await introspected.json()).toEqual({ active: false })
      const refused = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token }, auth)
      expect(refused.status).toBe(400)

      // A fresh grant: rotate once, then reuse the old refresh token.
      const fresh = await exchange(browser)
      const first = (await fresh.result.json()) as { refresh_token: string }
      const rotated = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth)
      expect(rotated.status).toBe(200)
      const { refresh_token: second } = (await rotated.json()) as { refresh_token: string }
      const reused = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth)
      expect(reused.status).toBe(400)
      expect((await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: second }, auth)).status).toBe(400)
    })
  })
}
