import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { CLIENT_SECRET, NOW, confidentialClient, noParams, oauthError, params, publicClient } from '../../test/protocol-fixtures.js'
import { hashToken } from '../tokens/secrets.js'
import { authenticateClient, type ClientCredentialsInput } from './client-auth.js'
import { Throttle } from './rate-limit.js'
import type { ClientRecord } from './store.js'

/** RFC 6749 §2.3.1: each of id and secret form-urlencoded, then joined by a colon and base64-encoded. */
const formEncode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2)
const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`

const LIMIT = { max: 3, window: 60, delays: [] }

async function setup(...clients: ClientRecord[]) {
  const store = new MemoryStore()
  for (const client of clients.length === 0 ? [confidentialClient(), publicClient()] : clients) await store.createClient(client)
  const throttle = new Throttle(store, LIMIT, 'client-auth:')
  const authenticate = (input: Partial<ClientCredentialsInput>, caller = '203.0.113.7', now = NOW) =>
    authenticateClient({ authorization: undefined, body: noParams(), query: noParams(), ...input }, store, throttle, caller, now)
  return { store, authenticate }
}

describe('authenticateClient', () => {
  describe('the methods (RFC 6749 §2.3, OAuth 2.1 §2.4)', () => {
    it('RFC 6749 §2.3.1: client_secret_basic authenticates a confidential client', async () => {
      const { authenticate } = await setup()
      expect((await authenticate({ authorization: basic('rp', CLIENT_SECRET) })).clientId).toBe('rp')
    })

    it('RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64 (reserved characters in id and secret)', async () => {
      const secret = 'p+ss:w rd%/é'
      const { authenticate } = await setup(confidentialClient({ clientId: 'a b:c', secretHash: hashToken(secret) }))
      expect((await authenticate({ authorization: basic('a b:c', secret) })).clientId).toBe('a b:c')
      // The same bytes without form-encoding are another secret.
      const raw = `Basic ${Buffer.from(`a+b%3Ac:${secret}`).toString('base64')}`
      await oauthError(authenticate({ authorization: raw }))
    })

    it('RFC 7617 §2: the scheme name is case-insensitive', async () => {
      const { authenticate } = await setup()
      const header = basic('rp', CLIENT_SECRET).replace('Basic', 'bAsIc')
      expect((await authenticate({ authorization: header })).clientId).toBe('rp')
    })

    it('RFC 6749 §2.3.1: client_secret_post authenticates a confidential client', async () => {
      const { authenticate } = await setup()
      expect((await authenticate({ body: params({ client_id: 'rp', client_secret: CLIENT_SECRET }) })).clientId).toBe('rp')
    })

    it('RFC 6749 §2.3.1: Basic with the same client_id repeated in the body is accepted', async () => {
      const { authenticate } = await setup()
      expect((await authenticate({ authorization: basic('rp', CLIENT_SECRET), body: params({ client_id: 'rp' }) })).clientId).toBe('rp')
    })

    it('OAuth 2.1 §2.4: a public client is identified by client_id alone (none)', async () => {
      const { authenticate } = await setup()
      expect((await authenticate({ body: params({ client_id: 'native' }) })).clientId).toBe('native')
    })
  })

  describe('a rotated secret (issue #20)', () => {
    const rotated = (previousSecretExpiresAt: number | null) =>
      confidentialClient({ secretHash: hashToken('new secret'), previousSecretHash: previousSecretExpiresAt === null ? null : hashToken(CLIENT_SECRET), previousSecretExpiresAt })

    it('without a grace period, the replaced secret is refused at once and the new one works', async () => {
      const { authenticate } = await setup(rotated(null))
      await oauthError(authenticate({ authorization: basic('rp', CLIENT_SECRET) }), 'invalid_client')
      expect((await authenticate({ authorization: basic('rp', 'new secret') })).clientId).toBe('rp')
    })

    it('with a grace period, both work until it ends, then only the new one', async () => {
      const { authenticate } = await setup(rotated(NOW + 60))
      expect((await authenticate({ authorization: basic('rp', CLIENT_SECRET) }, '203.0.113.7', NOW + 59)).clientId).toBe('rp')
      expect((await authenticate({ body: params({ client_id: 'rp', client_secret: 'new secret' }) }, '203.0.113.7', NOW + 59)).clientId).toBe('rp')
      await oauthError(authenticate({ authorization: basic('rp', CLIENT_SECRET) }, '203.0.113.7', NOW + 60), 'invalid_client')
      expect((await authenticate({ authorization: basic('rp', 'new secret') }, '203.0.113.7', NOW + 60)).clientId).toBe('rp')
      await oauthError(authenticate({ authorization: basic('rp', 'neither') }, '203.0.113.7', NOW), 'invalid_client')
    })
  })

  describe('refusals', () => {
    it('RFC 6749 §5.2: a wrong secret is 401 invalid_client, by Basic or in the body', async () => {
      const { authenticate } = await setup()
      for (const input of [{ authorization: basic('rp', 'wrong') }, { body: params({ client_id: 'rp', client_secret: 'wrong' }) }]) {
        const error = await oauthError(authenticate(input), 'invalid_client')
        expect(error.status).toBe(401)
        expect(error.description).toBe('client authentication failed')
      }
    })

    it('RFC 6749 §5.2: an unknown client gets the same answer as a wrong secret', async () => {
      const { authenticate } = await setup()
      for (const input of [{ authorization: basic('nobody', CLIENT_SECRET) }, { body: params({ client_id: 'nobody' }) }]) {
        const error = await oauthError(authenticate(input), 'invalid_client')
        expect(error.description).toBe('client authentication failed')
      }
    })

    it('RFC 6749 §3.2.1: a confidential client must authenticate: its client_id alone is invalid_client', async () => {
      const { authenticate } = await setup()
      await oauthError(authenticate({ body: params({ client_id: 'rp' }) }), 'invalid_client')
    })

    it('OAuth 2.1 §2.4: a public client that presents a secret is invalid_client, whatever the secret', async () => {
      const { authenticate } = await setup()
      await oauthError(authenticate({ body: params({ client_id: 'native', client_secret: CLIENT_SECRET }) }), 'invalid_client')
      await oauthError(authenticate({ authorization: basic('native', '') }), 'invalid_client')
    })

    it('RFC 6749 §3.2.1: no credentials at all is invalid_client', async () => {
      const { authenticate } = await setup()
      expect((await oauthError(authenticate({}), 'invalid_client')).description).toBe('client authentication is required')
    })

    it('OAuth 2.1 §2.4: two methods at once is invalid_request, even with the right secret', async () => {
      const { authenticate } = await setup()
      const error = await oauthError(authenticate({ authorization: basic('rp', CLIENT_SECRET), body: params({ client_secret: CLIENT_SECRET }) }), 'invalid_request')
      expect(error.description).toBe('more than one client authentication method was used')
    })

    it('RFC 6749 §2.3: Basic for one client with another client_id in the body is invalid_request', async () => {
      const { authenticate } = await setup()
      await oauthError(authenticate({ authorization: basic('rp', CLIENT_SECRET), body: params({ client_id: 'native' }) }), 'invalid_request')
    })

    it('OAuth 2.1 §2.4.1: a client_secret in the URL query is invalid_request, even when it is right', async () => {
      const { authenticate } = await setup()
      const error = await oauthError(
        authenticate({ body: params({ client_id: 'rp', client_secret: CLIENT_SECRET }), query: params({ client_secret: CLIENT_SECRET }) }),
        'invalid_request',
      )
      expect(error.description).toBe('client credentials must not be sent in the URL')
      await oauthError(authenticate({ authorization: basic('rp', CLIENT_SECRET), query: params({ client_secret: '' }) }), 'invalid_request')
    })

    it('RFC 6749 §2.3.1: malformed Basic credentials are invalid_request; another scheme is invalid_client; never a crash', async () => {
      const { authenticate } = await setup()
      const b64 = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`
      for (const header of ['Basic', 'Basic ', 'Basic !!!', 'Basic a b', b64('no-colon'), b64('rp:%ZZ'), b64('%E0%A4%A:x')]) {
        await oauthError(authenticate({ authorization: header }))
      }
      expect((await oauthError(authenticate({ authorization: b64('no-colon') }), 'invalid_request')).description).toBe('malformed Basic credentials')
      expect((await oauthError(authenticate({ authorization: b64('rp:%ZZ') }), 'invalid_request')).description).toMatch(/not properly encoded/)
      await oauthError(authenticate({ authorization: `Bearer ${CLIENT_SECRET}` }), 'invalid_client')
      await oauthError(authenticate({ authorization: b64(`:${CLIENT_SECRET}`) }), 'invalid_client')
    })
  })

  describe('throttling (SECURITY.md 26)', () => {
    it('SECURITY.md 26: failures past the limit per address and client are 429 invalid_client with Retry-After', async () => {
      const { authenticate } = await setup()
      for (let i = 0; i < LIMIT.max; i++) {
        expect((await oauthError(authenticate({ authorization: basic('rp', 'wrong') }), 'invalid_client')).status).toBe(401)
      }
      const throttled = await oauthError(authenticate({ authorization: basic('rp', 'wrong') }, '203.0.113.7', NOW + 10), 'invalid_client')
      expect(throttled.status).toBe(429)
      expect(throttled.retryAfter).toBe(50)
    })

    it('SECURITY.md 26: the right secret is never refused, neither past the limit from the same address nor from another', async () => {
      const { authenticate } = await setup()
      for (let i = 0; i < LIMIT.max + 5; i++) await oauthError(authenticate({ authorization: basic('rp', 'wrong') }), 'invalid_client')
      expect((await authenticate({ authorization: basic('rp', CLIENT_SECRET) })).clientId).toBe('rp')
      expect((await authenticate({ authorization: basic('rp', CLIENT_SECRET) }, '198.51.100.1')).clientId).toBe('rp')
    })

    it('SECURITY.md 26: failures count per address and client, never per client_id alone', async () => {
      const { authenticate } = await setup(confidentialClient(), confidentialClient({ clientId: 'rp2' }))
      for (let i = 0; i < LIMIT.max; i++) await oauthError(authenticate({ authorization: basic('rp', 'wrong') }), 'invalid_client')
      expect((await oauthError(authenticate({ authorization: basic('rp', 'wrong') }), 'invalid_client')).status).toBe(429)
      // Another address failing for the same client, and the same address for another client, start afresh.
      expect((await oauthError(authenticate({ authorization: basic('rp', 'wrong') }, '198.51.100.1'), 'invalid_client')).status).toBe(401)
      expect((await oauthError(authenticate({ authorization: basic('rp2', 'wrong') }), 'invalid_client')).status).toBe(401)
    })

    it('SECURITY.md 26: the window ends: failures are allowed again after rateLimit.clientAuth.window', async () => {
      const { authenticate } = await setup()
      for (let i = 0; i < LIMIT.max; i++) await oauthError(authenticate({ authorization: basic('rp', 'wrong') }), 'invalid_client')
      expect((await oauthError(authenticate({ authorization: basic('rp', 'wrong') }, '203.0.113.7', NOW + LIMIT.window - 1), 'invalid_client')).status).toBe(429)
      expect((await oauthError(authenticate({ authorization: basic('rp', 'wrong') }, '203.0.113.7', NOW + LIMIT.window), 'invalid_client')).status).toBe(401)
    })

    it('SECURITY.md 26 / 31: an unknown client writes nothing; a success writes nothing', async () => {
      const { store, authenticate } = await setup()
      for (let i = 0; i < 10; i++) await oauthError(authenticate({ authorization: basic(`nobody-${i}`, 'x') }), 'invalid_client')
      await authenticate({ authorization: basic('rp', CLIENT_SECRET) })
      await authenticate({ body: params({ client_id: 'native' }) })
      expect(store.rateLimits.size).toBe(0)
    })

    it('SECURITY.md 26: a public client presenting a secret counts as a failure too', async () => {
      const { store, authenticate } = await setup()
      await oauthError(authenticate({ body: params({ client_id: 'native', client_secret: 'x' }) }), 'invalid_client')
      expect(store.rateLimits.size).toBe(1)
    })
  })
})
