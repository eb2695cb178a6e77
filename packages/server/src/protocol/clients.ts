/**
 * Client registration: what a new client record must satisfy (RFC 6749 §2, RFC 9700 §2.1, RFC
 * 8252 for native apps). The secret of a confidential client is generated here, returned once and
 * stored only as a hash.
 */
import { randomBytes } from 'node:crypto'
import { DEFAULT_ID_TOKEN_ALG, ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { hashToken, randomToken } from '../tokens/secrets.js'
import { redirectUriProblem } from './redirect-uri.js'
import { parseScope } from './scopes.js'
import type { ClientRecord, GrantType, IdTokenAlg } from './store.js'

export interface ClientRegistration {
  name: string
  redirectUris: string[]
  /** Space-delimited. */
  scope: string
  isPublic: boolean
  idTokenAlg?: IdTokenAlg
  firstParty?: boolean
  pkceOptional?: boolean
  /** Fixed id (the demo client); generated when absent. */
  clientId?: string
}

export interface RegisteredClient {
  record: ClientRecord
  /** Shown once, never stored; null for public clients. */
  secret: string | null
}

/** A registration the server refuses; the message is for the administrator. */
export class RegistrationError extends Error {
  override readonly name = 'RegistrationError'
}

export function registerClient(input: ClientRegistration, offeredScopes: readonly string[], now: number): RegisteredClient {
  const name = input.name.trim()
  if (name === '' || name.length > 100) throw new RegistrationError('name: 1 to 100 characters')
  if (input.redirectUris.length === 0) throw new RegistrationError('at least one redirect URI is required')
  for (const uri of input.redirectUris) {
    const problem = redirectUriProblem(uri, input.isPublic)
    if (problem !== undefined) throw new RegistrationError(`redirect URI ${uri} ${problem}`)
  }
  let scopes: string[]
  try {
    scopes = parseScope(input.scope)
  } catch {
    throw new RegistrationError(`scope: not a list of scope tokens: ${input.scope}`)
  }
  const unknown = scopes.filter((scope) => !offeredScopes.includes(scope))
  if (unknown.length > 0) throw new RegistrationError(`scope: not offered by this server: ${unknown.join(' ')} (add them to "scopes" in the config)`)
  const alg = input.idTokenAlg ?? DEFAULT_ID_TOKEN_ALG
  if (!ID_TOKEN_ALGS.includes(alg)) throw new RegistrationError(`id token algorithm must be one of ${ID_TOKEN_ALGS.join(', ')}`)
  if (input.isPublic && input.pkceOptional === true) throw new RegistrationError('public clients must use PKCE')
  if (input.clientId !== undefined && !/^[\w.-]{1,64}$/.test(input.clientId)) throw new RegistrationError('client id: 1 to 64 of A-Z a-z 0-9 _ . -')

  const secret = input.isPublic ? null : randomToken()
  const grantTypes: GrantType[] = ['authorization_code', 'refresh_token']
  return {
    secret,
    record: {
      clientId: input.clientId ?? randomBytes(16).toString('base64url'),
      name,
      secretHash: secret === null ? null : hashToken(secret),
      redirectUris: [...new Set(input.redirectUris)],
      scopes,
      grantTypes,
      idTokenSignedResponseAlg: alg,
      pkceOptional: input.pkceOptional ?? false,
      firstParty: input.firstParty ?? false,
      postLogoutRedirectUris: [],
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      createdAt: now,
    },
  }
}
