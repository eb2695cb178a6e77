import { describe, expect, it } from 'vitest'
import { CONFIG, NOW, issueTokens, oauthError, seed, testKeys } from '../../test/protocol-fixtures.js'
import { validateAccessToken, type AccessTokenDeps, type AccessTokenSettings } from './access-token.js'

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

async function refusal(token: string, now = NOW, config: AccessTokenSettings = CONFIG): Promise<string> {
  const { store } = await seed()
  const error = await oauthError(validateAccessToken(token, { store, keys: await testKeys(), config }, now), 'invalid_token')
  expect(error.status).toBe(401)
  return error.description
}

describe('validateAccessToken', () => {
  it('RFC 9068 §4: a live access token of this server is valid, with its record and claims', async () => {
    const seeded = await seed()
    const { access_token, grantId } = await issueTokens(seeded)
    const valid = await validateAccessToken(access_token, { store: seeded.store, keys: await testKeys(), config: CONFIG }, NOW)
    expect(valid.record.grantId).toBe(grantId)
    expect(valid.claims).toMatchObject({ iss: CONFIG.issuer, aud: CONFIG.accessToken.audience, sub: seeded.user.id })
  })

  it('RFC 6750 §3.1: each way the JWT fails is invalid_token with its own fixed description', async () => {
    const { access_token } = await issueTokens(await seed())
    const [header, , signature] = access_token.split('.')
    expect(await refusal(access_token, NOW + CONFIG.lifetimes.accessToken)).toBe('the token has expired')
    expect(await refusal(`${header}.${b64({ sub: 'admin', exp: NOW + 60 })}.${signature}`)).toBe('the token signature is invalid')
    expect(await refusal(`${b64({ alg: 'ES256', kid: 'not-a-key-of-ours', typ: 'at+jwt' })}.${b64({ exp: NOW + 60 })}.${signature}`)).toBe(
      'the token was not signed by a current key',
    )
    expect(await refusal(access_token, NOW, { ...CONFIG, accessToken: { audience: 'https://another.example.com' } })).toBe(
      'the token claims are not acceptable',
    )
    expect(await refusal('a.b.c')).toBe('the token is malformed or uses a disallowed algorithm')
    expect(await refusal('not a jwt')).toBe('the access token is malformed')
  })

  it('a key store that fails is a server error, not the token\'s fault', async () => {
    const { store } = await seed()
    const { access_token } = await issueTokens(await seed())
    const keys = { verificationKey: async () => Promise.reject(new Error('database is down')) } as unknown as AccessTokenDeps['keys']
    await expect(validateAccessToken(access_token, { store, keys, config: CONFIG }, NOW)).rejects.toThrow('database is down')
  })
})
