/**
 * A database that cannot serve (here: SQLite held by another writer past busy_timeout) is a 503
 * `temporarily_unavailable` with Retry-After, never a 500, and nothing is half-applied: the same
 * code redeems once the database is free again.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, authorize, authorizeQuery, basicAuth, pkcePair, postForm, startServer, type TestServer } from '../harness.js'

describe('database unavailable', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server.close())

  it('RFC 6749 §5.2 / SECURITY.md 24: a locked database is 503 temporarily_unavailable at /token, and the code survives', async () => {
    const client = await server.addClient()
    const user = await server.addUser()
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: challenge }), user)
    const code = callback?.searchParams.get('code') ?? ''
    const redeem = () =>
      postForm(
        `${server.url}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
        { authorization: basicAuth(client.clientId, client.secret ?? '') },
      )

    const blocker = new Database(join(server.dir, 'authcode.db'))
    blocker.exec('BEGIN EXCLUSIVE')
    try {
      const response = await redeem()
      expect(response.status).toBe(503)
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(await response.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) })
    } finally {
      blocker.exec('ROLLBACK')
      blocker.close()
    }
    const retried = await redeem()
    expect(retried.status).toBe(200)
    expect(await server.app.inject({ method: 'GET', url: '/readyz' }).then((r) => r.statusCode)).toBe(200)
  }, 20_000)
})
