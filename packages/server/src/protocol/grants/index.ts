/** The token endpoint's grant registry, built in this one place (STYLE rule 2). */
import { invalidDpopProof } from '../dpop.js'
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from '../errors.js'
import type { Params } from '../params.js'
import type { ClientRecord, GrantType } from '../store.js'
import { authorizationCodeGrant } from './authorization-code.js'
import { refreshTokenGrant } from './refresh-token.js'
import type { GrantHandler, TokenContext, TokenResponse } from './types.js'

const GRANTS: ReadonlyMap<string, GrantHandler> = new Map<string, GrantHandler>(
  [authorizationCodeGrant, refreshTokenGrant].map((handler) => [handler.grantType, handler]),
)

/** The grant types the server supports, for metadata. */
export const SUPPORTED_GRANT_TYPES: readonly GrantType[] = [...GRANTS.keys()] as GrantType[]

/** RFC 6749 §5: dispatches an authenticated client's token request on `grant_type`. */
export async function handleTokenRequest(client: ClientRecord, params: Params, ctx: TokenContext): Promise<TokenResponse> {
  const grantType = params.single('grant_type')
  if (grantType === undefined) throw invalidRequest('grant_type is missing')
  const handler = GRANTS.get(grantType)
  if (handler === undefined) throw unsupportedGrantType('the grant type is not supported')
  if (!client.grantTypes.includes(handler.grantType)) throw unauthorizedClient('the client is not allowed this grant type')
  // RFC 9449 §5.2 dpop_bound_access_tokens: such a client's token requests must carry a proof.
  if (client.dpopBoundAccessTokens && ctx.dpop === undefined) throw invalidDpopProof('a DPoP proof is required for this client')
  return handler.handle(client, params, ctx)
}

export type { TokenContext, TokenResponse, GrantHandler } from './types.js'
export { issueAuthorizationCode } from './authorization-code.js'
