import type { AccountProvider } from '../accounts.js'
import type { DpopProof } from '../dpop.js'
import type { EventSink } from '../events.js'
import type { TokenMinter, TokenSettings } from '../issue-tokens.js'
import type { Params } from '../params.js'
import type { ClientRecord, GrantType, Store } from '../store.js'

/** What a grant handler may use; `now` is the request's clock reading, in seconds. */
export interface TokenContext {
  store: Store
  /** Where accounts are kept (`accounts.ts`): another provider's is asked whether it may still be used. */
  accounts: AccountProvider
  minter: TokenMinter
  /** The settings its tokens are minted under (`ServerConfig` has them). */
  config: TokenSettings
  now: number
  /** Where redemptions, rotations and replays are reported; none when absent. */
  events?: EventSink
  /** RFC 9449: the request's DPoP proof, already verified; the tokens are bound to its key. */
  dpop?: DpopProof
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string
  /** RFC 9449 §5: `DPoP` when the access token is bound to the proof's key. */
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
}

/** One grant type of the token endpoint (STYLE rule 2). */
export interface GrantHandler {
  readonly grantType: GrantType
  handle(client: ClientRecord, params: Params, ctx: TokenContext): Promise<TokenResponse>
}
