/**
 * Scale out (issue 5): two `authcode serve` processes on two ports over ONE PostgreSQL database,
 * behind one issuer. Every state that must be shared lives in the database, so a code issued by
 * one instance is redeemed at the other, single use and refresh rotation hold across instances,
 * and a key rotated through one instance verifies at the other once it activates.
 *
 * Needs `AUTHCODE_TEST_PG` (a PostgreSQL URL; CI sets it): the test creates a database of its own
 * on that server and drops it afterwards. Skipped with a message when unset.
 */
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { Browser, basicAuth, freePort, pkcePair, postForm } from '../../packages/server/test/harness.js'
import { walkAuthorization } from '../../packages/server/test/walk.js'
import { migrationProvider } from '../../packages/server/src/storage/migrations/index.js'
import { hashToken } from '../../packages/server/src/tokens/secrets.js'
import {
  createDatabase,
  dropDatabase,
  ensureBuilt,
  inspect,
  logLines,
  poll,
  removeTempDirs,
  runCliOk,
  tempDir,
  sharedSecret,
  startInstance,
  stopAllInstances,
  testPgUrl,
  writeConfig,
  type Instance,
} from './instances.js'

const ADMIN_URL = testPgUrl()
const REDIRECT = 'https://app.test/cb'

interface Tokens {
  access_token: string
  refresh_token: string
  id_token: string
  token_type: string
}

/** The protected header of a JWS. */
function jwsHeader(token: string): { kid?: string; alg?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string; alg?: string }
}

function jwsPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

async function twoFreePorts(): Promise<[number, number]> {
  const a = await freePort()
  for (;;) {
    const b = await freePort()
    if (b !== a) return [a, b]
  }
}

if (ADMIN_URL === undefined) {
  describe('scale-out: two instances, one PostgreSQL database', () => {
    it.skip('skipped: set AUTHCODE_TEST_PG to a PostgreSQL URL (CI does) to run two authcode instances on one database', () => {})
  })
} else {
  describe('scale-out: two instances, one PostgreSQL database, one issuer', () => {
    const secret = sharedSecret()
    let database: { name: string; url: string } | undefined
    let A: Instance
    let B: Instance
    let issuer: string
    let configPath: string
    let client: { client_id: string; client_secret: string }
    const user = { username: 'alice', password: 'alice scale-out password' }

    const cliEnv = () => ({ AUTHCODE_SECRET: secret })
    const db = () => ['--db', database?.url ?? '']

    beforeAll(async () => {
      ensureBuilt()
      database = await createDatabase(ADMIN_URL, 'scale')
      const [portA, portB] = await twoFreePorts()
      issuer = `http://localhost:${portA}`
      // activationDelay >= cacheTtl: each instance learns a new key before any signs with it.
      configPath = writeConfig({ keys: { activationDelay: 2, cacheTtl: 1 } })
      const common = { db: database.url, issuer, secret, config: configPath }
      // Started together on an empty database: both migrate, under the advisory lock.
      ;[A, B] = await Promise.all([
        startInstance({ ...common, name: 'A', port: portA }),
        startInstance({ ...common, name: 'B', port: portB }),
      ])
      client = JSON.parse(
        await runCliOk(['client', 'add', '--name', 'Shop', '--redirect-uri', REDIRECT, '--json', ...db()], { env: cliEnv() }),
      ) as { client_id: string; client_secret: string }
      await runCliOk(['user', 'add', '--username', user.username, '--password-stdin', '--email', 'alice@example.com', ...db()], {
        input: `${user.password}\n`,
        env: cliEnv(),
      })
    }, 90_000)

    afterAll(async () => {
      try {
        await stopAllInstances(5_000)
      } finally {
        try {
          if (database !== undefined) await dropDatabase(ADMIN_URL, database.name)
        } finally {
          removeTempDirs()
        }
      }
    }, 60_000)

    /** An authorization at `at` (login and consent walked as needed); returns the code and its verifier. */
    async function codeFrom(at: Instance, browser: Browser = new Browser()): Promise<{ code: string; verifier: string }> {
      const { verifier, challenge } = pkcePair()
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: REDIRECT,
        scope: 'openid profile email',
        state: 'st',
        nonce: 'nn',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      })
      const callback = await walkAuthorization(at.url, `${at.url}/authorize?${query.toString()}`, user, browser)
      expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT)
      expect(callback.searchParams.get('iss')).toBe(issuer)
      const code = callback.searchParams.get('code')
      if (code === null) throw new Error(`no code in ${callback.href}`)
      return { code, verifier }
    }

    const clientAuth = () => ({ authorization: basicAuth(client.client_id, client.client_secret) })

    function redeem(at: Instance, code: string, verifier: string): Promise<Response> {
      return postForm(`${at.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, clientAuth())
    }

    function refresh(at: Instance, refreshToken: string): Promise<Response> {
      return postForm(`${at.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, clientAuth())
    }

    function userinfo(at: Instance, accessToken: string): Promise<Response> {
      return fetch(`${at.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
    }

    async function tokensFrom(response: Response): Promise<Tokens> {
      const text = await response.text()
      expect(response.status, text).toBe(200)
      return JSON.parse(text) as Tokens
    }

    /** The grant a code belongs to, from the database. */
    async function grantOfCode(code: string): Promise<string> {
      const conn = inspect(database?.url ?? '')
      try {
        const row = await conn.selectFrom('authorization_codes').select('grant_id').where('code_hash', '=', hashToken(code)).executeTakeFirstOrThrow()
        return row.grant_id
      } finally {
        await conn.destroy()
      }
    }

    it('both started on the empty database: the migration ran once (advisory lock), both are ready and agree on issuer and keys', async () => {
      const migratedBy = [A, B].filter((instance) => logLines(instance).some((line) => line.msg === 'database migrated'))
      expect(migratedBy, 'exactly one instance applies the migrations').toHaveLength(1)
      const conn = inspect(database?.url ?? '')
      try {
        const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(conn)
        // Every migration the server ships, once.
        expect(applied.rows.map((row) => row.name)).toEqual(Object.keys(await migrationProvider.getMigrations()).sort())
      } finally {
        await conn.destroy()
      }
      const jwks: string[][] = []
      for (const instance of [A, B]) {
        expect((await fetch(`${instance.url}/readyz`)).status).toBe(200)
        const metadata = (await (await fetch(`${instance.url}/.well-known/openid-configuration`)).json()) as Record<string, string>
        expect(metadata.issuer).toBe(issuer)
        expect(metadata.token_endpoint).toBe(`${issuer}/token`)
        const set = (await (await fetch(`${instance.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }
        jwks.push(set.keys.map((key) => key.kid).sort())
      }
      expect(jwks[0]?.length).toBeGreaterThan(0)
      expect(jwks[1]).toEqual(jwks[0])
    })

    it('a code issued through A is redeemed at B (200); B’s tokens work at A’s /userinfo; A’s login session and consent are honoured by B', async () => {
      const browser = new Browser()
      const { code, verifier } = await codeFrom(A, browser)
      const tokens = await tokensFrom(await redeem(B, code, verifier))
      expect(tokens.token_type).toBe('Bearer')
      expect(jwsPayload(tokens.id_token)).toMatchObject({ iss: issuer, aud: client.client_id, nonce: 'nn' })

      const atA = await userinfo(A, tokens.access_token)
      expect(atA.status).toBe(200)
      const claims = (await atA.json()) as Record<string, unknown>
      expect(claims).toMatchObject({ preferred_username: user.username, sub: jwsPayload(tokens.id_token).sub })
      expect((await userinfo(B, tokens.access_token)).status).toBe(200)

      // The refresh token from B rotates at A, and the one A returns rotates at B: one family, intact.
      const fromA = await tokensFrom(await refresh(A, tokens.refresh_token))
      const fromB = await tokensFrom(await refresh(B, fromA.refresh_token))
      expect((await userinfo(A, fromB.access_token)).status).toBe(200)

      // The browser signed in (and consented) at A: B's /authorize answers at once with a code.
      const { verifier: v2, challenge } = pkcePair()
      const query = new URLSearchParams({
        response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid profile email',
        state: 's2', code_challenge: challenge, code_challenge_method: 'S256',
      })
      const direct = await browser.get(`${B.url}/authorize?${query.toString()}`)
      expect(direct.status).toBe(302)
      const callback = new URL(direct.headers.get('location') ?? '')
      expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT)
      expect(callback.searchParams.get('iss')).toBe(issuer)
      await tokensFrom(await redeem(A, callback.searchParams.get('code') ?? '', v2))
    })

    it('fifty concurrent redemptions of one code split over A and B: exactly one 200, 49 invalid_grant, no 5xx; the replays revoke the winner’s tokens (RFC 6749 §4.1.2)', async () => {
      const { code, verifier } = await codeFrom(A)
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => redeem(i % 2 === 0 ? A : B, code, verifier)))
      const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> })))
      const statuses = bodies.map((b) => b.status)
      expect(statuses.filter((s) => s >= 500), JSON.stringify(bodies.filter((b) => b.status >= 500))).toEqual([])
      const winners = bodies.filter((b) => b.status === 200)
      expect(winners).toHaveLength(1)
      const losers = bodies.filter((b) => b.status !== 200)
      expect(losers).toHaveLength(49)
      for (const loser of losers) {
        expect(loser.status).toBe(400)
        expect(loser.body.error).toBe('invalid_grant')
      }
      // Both instances took part in the race and each refused replays.
      const lostAt = new Set(statuses.flatMap((s, i) => (s === 400 ? [i % 2] : [])))
      expect(lostAt.size).toBe(2)

      // What the server does with a replayed code: the grant is revoked, with the tokens issued from it.
      const winner = winners[0]?.body ?? {}
      const grantId = await grantOfCode(code)
      const conn = inspect(database?.url ?? '')
      try {
        const grant = await conn.selectFrom('grants').select('revoked_at').where('id', '=', grantId).executeTakeFirstOrThrow()
        expect(grant.revoked_at).not.toBeNull()
        const access = await conn.selectFrom('access_tokens').select(['jti', 'revoked_at']).where('grant_id', '=', grantId).execute()
        expect(access, 'one success, one access token').toHaveLength(1)
        expect(access[0]?.revoked_at).not.toBeNull()
        const refreshes = await conn.selectFrom('refresh_tokens').select('token_hash').where('grant_id', '=', grantId).execute()
        expect(refreshes).toHaveLength(1)
      } finally {
        await conn.destroy()
      }
      for (const at of [A, B]) {
        expect((await userinfo(at, winner.access_token ?? '')).status).toBe(401)
        const again = await refresh(at, winner.refresh_token ?? '')
        expect(again.status).toBe(400)
        expect(((await again.json()) as Record<string, string>).error).toBe('invalid_grant')
      }
    }, 60_000)

    it('twenty concurrent refreshes of one refresh token split over A and B: exactly one 200; the replays revoke the family (RFC 9700 §4.14.2)', async () => {
      const { code, verifier } = await codeFrom(B)
      const first = await tokensFrom(await redeem(A, code, verifier))
      const grantId = await grantOfCode(code)

      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 === 0 ? A : B, first.refresh_token)))
      const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> })))
      expect(bodies.filter((b) => b.status >= 500), 'no 5xx').toEqual([])
      const winners = bodies.filter((b) => b.status === 200)
      expect(winners).toHaveLength(1)
      for (const loser of bodies.filter((b) => b.status !== 200)) {
        expect(loser.status).toBe(400)
        expect(loser.body.error).toBe('invalid_grant')
      }
      const winner = winners[0]?.body ?? {}
      expect(winner.refresh_token).toMatch(/^[\w-]{43,}$/)

      // The losers presented a rotated token: the whole family is revoked, the winner's new tokens too.
      for (const at of [A, B]) {
        const next = await refresh(at, winner.refresh_token ?? '')
        expect(next.status).toBe(400)
        expect(((await next.json()) as Record<string, string>).error).toBe('invalid_grant')
        expect((await userinfo(at, winner.access_token ?? '')).status).toBe(401)
        expect((await userinfo(at, first.access_token)).status).toBe(401)
      }
      const conn = inspect(database?.url ?? '')
      try {
        const grant = await conn.selectFrom('grants').select('revoked_at').where('id', '=', grantId).executeTakeFirstOrThrow()
        expect(grant.revoked_at).not.toBeNull()
        const refreshes = await conn.selectFrom('refresh_tokens').select(['token_hash', 'rotated_at']).where('grant_id', '=', grantId).execute()
        // The original (rotated exactly once) and the winner's (never rotated): one rotation happened.
        expect(refreshes).toHaveLength(2)
        expect(refreshes.filter((r) => r.rotated_at !== null).map((r) => r.token_hash)).toEqual([hashToken(first.refresh_token)])
        const access = await conn.selectFrom('access_tokens').select('revoked_at').where('grant_id', '=', grantId).execute()
        expect(access).toHaveLength(2)
        expect(access.every((row) => row.revoked_at !== null)).toBe(true)
      } finally {
        await conn.destroy()
      }
    }, 60_000)

    it('SECURITY.md 33: a request_uri, a DPoP proof and a client assertion each work once across both instances', async () => {
      const browser = new Browser()
      await codeFrom(A, browser) // signed in, consent remembered
      const form = (challenge: string) => ({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state: 'par', code_challenge: challenge, code_challenge_method: 'S256' })

      // PAR (RFC 9126 §4): pushed at A, used at B, then refused at A.
      const { verifier, challenge } = pkcePair()
      const pushed = await postForm(`${A.url}/par`, form(challenge), clientAuth())
      expect(pushed.status).toBe(201)
      const { request_uri } = (await pushed.json()) as { request_uri: string }
      const byRequestUri = `/authorize?${new URLSearchParams({ client_id: client.client_id, request_uri }).toString()}`
      const used = await browser.get(`${B.url}${byRequestUri}`)
      expect(used.status).toBe(302)
      const code = new URL(used.headers.get('location') ?? '').searchParams.get('code') ?? ''
      expect(code).not.toBe('')
      const again = await browser.get(`${A.url}${byRequestUri}`)
      expect(again.headers.get('location') ?? '').not.toContain('code=')
      expect(again.status).toBe(400)

      // DPoP (RFC 9449 §11.1): one proof, sent to A and then to B with another code.
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
      const jwk = await exportJWK(publicKey)
      const proof = await new SignJWT({ htm: 'POST', htu: `${issuer}/token`, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setIssuedAt()
        .sign(privateKey)
      const exchange = (at: Instance, grant: { code: string; verifier: string }, headers: Record<string, string>) =>
        postForm(`${at.url}/token`, { grant_type: 'authorization_code', code: grant.code, redirect_uri: REDIRECT, code_verifier: grant.verifier }, headers)
      const bound = await tokensFrom(await exchange(A, { code, verifier }, { ...clientAuth(), dpop: proof }))
      expect(bound.token_type).toBe('DPoP')
      expect(jwsPayload(bound.access_token).cnf).toEqual({ jkt: expect.any(String) })
      const replayed = await exchange(B, await codeFrom(B, browser), { ...clientAuth(), dpop: proof })
      expect(replayed.status).toBe(400)
      expect(((await replayed.json()) as { error: string }).error).toBe('invalid_dpop_proof')

      // private_key_jwt (RFC 7523 §3): one assertion, used at A and then at B.
      const keys = await generateKeyPair('ES256', { extractable: true })
      const jwksFile = join(tempDir('authcode-jwks-'), 'jwks.json')
      writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }))
      const signer = JSON.parse(
        await runCliOk(['client', 'add', '--name', 'Signer', '--redirect-uri', REDIRECT, '--auth-method', 'private_key_jwt', '--jwks', jwksFile, '--json', ...db()], { env: cliEnv() }),
      ) as { client_id: string }
      const assertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(signer.client_id)
        .setSubject(signer.client_id)
        .setAudience(issuer)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(keys.privateKey)
      const introspect = (at: Instance) =>
        postForm(`${at.url}/introspect`, {
          token: 'not-a-token',
          client_id: signer.client_id,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        })
      expect((await introspect(A)).status).toBe(200)
      const second = await introspect(B)
      expect(second.status).toBe(401)
      expect(((await second.json()) as { error: string }).error).toBe('invalid_client')
    }, 60_000)

    it('a key rotated with `authcode keys rotate` signs at A after keys.activationDelay, and B verifies it and publishes it', async () => {
      const { code, verifier } = await codeFrom(A)
      let current = await tokensFrom(await redeem(A, code, verifier))
      const oldToken = current.access_token
      const oldKid = jwsHeader(oldToken).kid

      // The same config file as the instances: the CLI computes the activation time from it.
      const output = await runCliOk(['keys', 'rotate', ...db(), '--config', configPath], { env: cliEnv() })
      const rotatedAt = Date.now()
      const match = /published \d+ new signing keys \(([^)]+)\); they sign from (\S+)/.exec(output)
      expect(match, output).not.toBeNull()
      const newKids = (match?.[1] ?? '').split(', ')
      const activatesAt = Date.parse(match?.[2] ?? '')
      expect(activatesAt - rotatedAt, output).toBeLessThanOrEqual(2_000)
      expect(newKids).not.toContain(oldKid)

      // Published at once (JWKS always reads the database), at both instances.
      for (const at of [A, B]) {
        const set = (await (await fetch(`${at.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }
        const kids = set.keys.map((key) => key.kid)
        for (const kid of newKids) expect(kids).toContain(kid)
        if (oldKid !== undefined) expect(kids).toContain(oldKid)
      }
      // Before activation (if the CLI left us time to look) the old key still signs.
      if (Date.now() < activatesAt - 500) {
        const early = await tokensFrom(await refresh(A, current.refresh_token))
        if (Date.now() < activatesAt) expect(jwsHeader(early.access_token).kid).toBe(oldKid)
        current = early
      }

      // Poll A (bounded) until its tokens carry a new kid: activationDelay 2 s + cacheTtl 1 s + slack.
      const signed = await poll('A signs with a rotated-in key', 10_000, async () => {
        const next = await tokensFrom(await refresh(A, current.refresh_token))
        current = next
        const kid = jwsHeader(next.access_token).kid
        return kid !== undefined && newKids.includes(kid) ? next : undefined
      }, 200)
      const switchedAfter = Date.now() - rotatedAt
      const accessKid = jwsHeader(signed.access_token).kid ?? ''
      expect(newKids).toContain(accessKid)
      expect(Date.now()).toBeGreaterThanOrEqual(activatesAt)
      expect(newKids).toContain(jwsHeader(signed.id_token).kid)

      const atB = await userinfo(B, signed.access_token)
      expect(atB.status).toBe(200)
      expect(await atB.json()).toMatchObject({ preferred_username: user.username })
      const set = (await (await fetch(`${B.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }
      expect(set.keys.map((key) => key.kid)).toContain(accessKid)
      // A token the old key signed before the rotation still verifies at B (the old key stays published).
      expect((await userinfo(B, oldToken)).status).toBe(200)
      console.info(`scale-out: A signed with the rotated key ${switchedAfter} ms after \`keys rotate\` returned`)
    }, 60_000)

    it('SIGTERM: an instance finishes in-flight requests and shuts down gracefully (exit 0, port closed) while the other keeps serving', async () => {
      const browser = new Browser()
      const codes = []
      for (let i = 0; i < 8; i++) codes.push(await codeFrom(B, browser))
      // Redemptions in flight when SIGTERM arrives each get a whole answer: their tokens (200), or
      // 503 for one that arrived after closing began; never a reset connection.
      const inFlight = codes.map(({ code, verifier }) => redeem(B, code, verifier).then((r) => r.status, (e: unknown) => String(e)))
      await new Promise((resolve) => setTimeout(resolve, 5))
      const exit = await B.stop(10_000)
      const statuses = await Promise.all(inFlight)
      expect(statuses.every((status) => status === 200 || status === 503), String(statuses)).toBe(true)
      expect(statuses).toContain(200)
      expect(exit).toEqual({ code: 0, signal: null })
      expect(logLines(B).some((line) => line.msg === 'shutting down')).toBe(true)
      expect(B.stderr()).toBe('')
      await expect(fetch(`${B.url}/healthz`)).rejects.toThrow()
      expect((await fetch(`${A.url}/readyz`)).status).toBe(200)
      const { code, verifier } = await codeFrom(A)
      await tokensFrom(await redeem(A, code, verifier))
      expect(await A.stop(10_000)).toEqual({ code: 0, signal: null })
    }, 30_000)
  })
}
