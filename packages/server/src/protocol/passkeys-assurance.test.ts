import { describe, expect, it } from 'vitest'
import { ACR, acrOf, acrValuesSupported, passkeyAmr, passkeyRequired, readAcrValues, satisfiesAcr } from './passkeys-assurance.js'
import { decideAuthorization } from './journey.js'
import { authorizationRequest, confidentialClient, NOW } from '../../test/protocol-fixtures.js'
import type { LoginSessionRecord } from './store.js'

const ON = acrValuesSupported(true)
const OFF = acrValuesSupported(false)

describe('amr and acr (RFC 8176, OIDC Core §2)', () => {
  it('RFC 8176 §2: a single-device passkey is hwk, a synced one swk, both with user; acr follows', () => {
    expect(passkeyAmr('singleDevice')).toEqual(['hwk', 'user'])
    expect(passkeyAmr('multiDevice')).toEqual(['swk', 'user'])
    expect(acrOf(['hwk', 'user'])).toBe('phrh')
    expect(acrOf(['swk', 'user'])).toBe('phr')
    expect(acrOf(['pwd'])).toBe(ACR.password)
    // A session from before amr was kept was by password.
    expect(acrOf(undefined)).toBe(ACR.password)
  })

  it('OIDC Core §3.1.2.1: acr_values are space-separated; none sent is none', () => {
    expect(readAcrValues('phr  phrh ')).toEqual(['phr', 'phrh'])
    expect(readAcrValues('')).toBeUndefined()
    expect(readAcrValues(undefined)).toBeUndefined()
  })

  it('the weakest supported value requested sets the bar; unknown values ask for nothing; with passkeys off, only the password acr exists', () => {
    expect(satisfiesAcr(['phr'], ['pwd'], ON)).toBe(false)
    expect(satisfiesAcr(['phr'], ['swk', 'user'], ON)).toBe(true)
    expect(satisfiesAcr(['phr'], ['hwk', 'user'], ON)).toBe(true)
    expect(satisfiesAcr(['phrh'], ['swk', 'user'], ON)).toBe(false)
    expect(satisfiesAcr(['phrh', 'phr'], ['swk', 'user'], ON)).toBe(true)
    expect(satisfiesAcr([ACR.password, 'phrh'], ['pwd'], ON)).toBe(true)
    expect(satisfiesAcr(['urn:example:gold'], ['pwd'], ON)).toBe(true)
    expect(satisfiesAcr(undefined, ['pwd'], ON)).toBe(true)
    expect(satisfiesAcr(['phr'], ['pwd'], OFF)).toBe(true)
    expect(passkeyRequired(['phr'], ON)).toBe(true)
    expect(passkeyRequired(['phr', ACR.password], ON)).toBe(false)
    expect(passkeyRequired(['phr'], OFF)).toBe(false)
  })

  it('step-up: a login session weaker than acr_values is not used (login, or login_required with prompt=none)', () => {
    const client = confidentialClient()
    const session = (amr: string[] | undefined): LoginSessionRecord => ({
      idHash: 's',
      userId: 'u1',
      authTime: NOW - 10,
      createdAt: NOW - 10,
      expiresAt: NOW + 3600,
      browserHash: 'b',
      ...(amr === undefined ? {} : { amr }),
    })
    const consent = { userId: 'u1', clientId: client.clientId, scopes: authorizationRequest(client).scopes, createdAt: NOW, updatedAt: NOW }
    const decide = (amr: string[] | undefined, overrides: Parameters<typeof authorizationRequest>[1]) =>
      decideAuthorization({ request: authorizationRequest(client, overrides), client, session: session(amr), consent, skipConsentForFirstParty: true, now: NOW, acrValuesSupported: ON })
    expect(decide(['pwd'], { acrValues: ['phr'] }).kind).toBe('login')
    expect(decide(undefined, { acrValues: ['phr'] }).kind).toBe('login')
    expect(decide(['swk', 'user'], { acrValues: ['phr'] }).kind).toBe('issue')
    expect(decide(['swk', 'user'], { acrValues: ['phrh'] }).kind).toBe('login')
    expect(decide(['pwd'], { acrValues: ['phr'], prompt: ['none'] })).toMatchObject({ kind: 'refused', error: { error: 'login_required' } })
    expect(decide(['pwd'], {}).kind).toBe('issue')
  })
})
