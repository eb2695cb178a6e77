import { describe, expect, it } from 'vitest'
import { NOW, codeParams, confidentialClient, issueCode, issueTokens, oauthError, params, seed, tokenContext } from '../../../test/protocol-fixtures.js'
import { hashToken } from '../../tokens/secrets.js'
import { SUPPORTED_GRANT_TYPES, handleTokenRequest } from './index.js'

describe('handleTokenRequest', () => {
  it('RFC 6749 §4.1.3 / §6: authorization_code and refresh_token go to their handlers', async () => {
    const seeded = await seed()
    const context = await tokenContext(seeded.store, NOW)
    const fromCode = await handleTokenRequest(seeded.client, codeParams(await issueCode(seeded)), context)
    expect(fromCode.token_type).toBe('Bearer')
    const fromRefresh = await handleTokenRequest(seeded.client, params({ grant_type: 'refresh_token', refresh_token: fromCode.refresh_token ?? '' }), context)
    expect(fromRefresh.refresh_token).not.toBe(fromCode.refresh_token)
  })

  it('RFC 6749 §5.2: a missing grant_type, or one given twice, is invalid_request', async () => {
    const seeded = await seed()
    const context = await tokenContext(seeded.store)
    await oauthError(handleTokenRequest(seeded.client, params({ code: 'x' }), context), 'invalid_request')
    await oauthError(handleTokenRequest(seeded.client, params([['grant_type', 'authorization_code'], ['grant_type', 'authorization_code']]), context), 'invalid_request')
  })

  it('RFC 6749 §5.2 / RFC 9700 §2.4: any other grant type (password, implicit, client_credentials, …) is unsupported_grant_type', async () => {
    const seeded = await seed()
    const context = await tokenContext(seeded.store)
    for (const grantType of ['password', 'implicit', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'AUTHORIZATION_CODE', 'toString', '__proto__']) {
      await oauthError(handleTokenRequest(seeded.client, params({ grant_type: grantType }), context), 'unsupported_grant_type')
    }
  })

  it('RFC 6749 §5.2: a client not registered for the grant type is unauthorized_client, and its code or token is not touched', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    const code = await issueCode(seeded)
    const context = await tokenContext(seeded.store)
    const onlyRefresh = confidentialClient({ grantTypes: ['refresh_token'] })
    const onlyCode = confidentialClient({ grantTypes: ['authorization_code'] })
    await oauthError(handleTokenRequest(onlyRefresh, codeParams(code), context), 'unauthorized_client')
    await oauthError(handleTokenRequest(onlyCode, params({ grant_type: 'refresh_token', refresh_token: issued.refresh_token ?? '' }), context), 'unauthorized_client')
    expect(seeded.store.codes.get(hashToken(code))?.consumedAt).toBeNull()
    expect(seeded.store.refreshTokens.get(hashToken(issued.refresh_token ?? ''))?.rotatedAt).toBeNull()
  })
})

describe('SUPPORTED_GRANT_TYPES', () => {
  it('RFC 8414 §2: the grant types metadata lists are the registered handlers', () => {
    expect(SUPPORTED_GRANT_TYPES).toEqual(['authorization_code', 'refresh_token'])
  })
})
