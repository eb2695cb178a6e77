/**
 * The SQL schema as Kysely sees it: one interface per table, snake_case columns, gathered into
 * `Database`. It mirrors the migrations in `migrations/`; a new migration updates it too.
 *
 * Column conventions, the same on SQLite and PostgreSQL:
 * - times are whole seconds since the epoch in `bigint` columns; PostgreSQL returns int8 as a string,
 *   so rows are read through `Number()`;
 * - booleans are `integer` 0/1;
 * - string arrays are JSON in `text` columns (a redirect URI may contain any character but `"`
 *   escaped, so no separator is safe).
 */
import type { ColumnType } from 'kysely'
import type { IdTokenAlg, InteractionState, SigningAlg, TokenEndpointAuthMethod } from '../protocol/store.js'

/** A `bigint` column of seconds: written as a number, read as a number (SQLite) or string (PostgreSQL). */
export type Seconds = ColumnType<number | string, number, number>
export type NullableSeconds = ColumnType<number | string | null, number | null, number | null>
/** An `integer` column holding 0 or 1. */
export type Flag = 0 | 1
/** A `text` column holding a JSON array of strings. */
export type JsonArray = string

export interface ClientsTable {
  client_id: string
  name: string
  secret_hash: string | null
  redirect_uris: JsonArray
  scopes: JsonArray
  grant_types: JsonArray
  id_token_signed_response_alg: IdTokenAlg
  pkce_optional: Flag
  first_party: Flag
  created_at: Seconds
  /** Since 0003. */
  post_logout_redirect_uris: JsonArray
  previous_secret_hash: string | null
  previous_secret_expires_at: NullableSeconds
  /** Since 0004; null for clients registered before it (by their secret, or none when public). */
  token_endpoint_auth_method: TokenEndpointAuthMethod | null
  jwks: string | null
  jwks_uri: string | null
  require_pushed_authorization_requests: Flag
  dpop_bound_access_tokens: Flag
  /** Since 0005. */
  backchannel_logout_uri: string | null
  /** Since 0006. */
  web_origins: JsonArray
  /** Since 0007: the client registered itself (RFC 7591); its RFC 7592 registration access token, hashed. */
  registered_dynamically: Flag
  registration_access_token_hash: string | null
}

export interface UsersTable {
  id: string
  username: string
  password_hash: string
  name: string | null
  email: string | null
  email_verified: Flag
  created_at: Seconds
  updated_at: Seconds
  /** Since 0003. */
  disabled_at: NullableSeconds
}

export interface LoginSessionsTable {
  id_hash: string
  user_id: string
  auth_time: Seconds
  created_at: Seconds
  expires_at: Seconds
  /** Since 0002; null for sessions started before it. */
  browser_hash: string | null
  /** Since 0005; null for sessions started before it. */
  sid: string | null
  /** Since 0009: the sign-in's authentication methods (RFC 8176), JSON; null for sessions started before it. */
  amr: JsonArray | null
}

export interface InteractionsTable {
  id: string
  client_id: string
  request: string
  state: InteractionState
  csrf_token: string
  browser_hash: string
  user_id: string | null
  auth_time: NullableSeconds
  created_at: Seconds
  expires_at: Seconds
  session_hash: string | null
}

export interface ConsentsTable {
  user_id: string
  client_id: string
  scopes: JsonArray
  created_at: Seconds
  updated_at: Seconds
}

export interface GrantsTable {
  id: string
  client_id: string
  user_id: string
  scopes: JsonArray
  auth_time: Seconds
  created_at: Seconds
  revoked_at: NullableSeconds
  /** Since 0008: the resources (RFC 8707) authorized, JSON; null when none was named. */
  resources: JsonArray | null
  /** Since 0005. */
  sid: string | null
  /** Since 0009: the authentication methods of the sign-in it was made in, JSON; null before it. */
  amr: JsonArray | null
}

export interface AuthorizationCodesTable {
  code_hash: string
  grant_id: string
  client_id: string
  user_id: string
  redirect_uri: string
  redirect_uri_sent: Flag
  code_challenge: string | null
  code_challenge_method: 'S256' | null
  nonce: string | null
  scopes: JsonArray
  auth_time: Seconds
  created_at: Seconds
  expires_at: Seconds
  consumed_at: NullableSeconds
  /** Since 0004. */
  dpop_jkt: string | null
}

export interface RefreshTokensTable {
  token_hash: string
  grant_id: string
  client_id: string
  user_id: string
  scopes: JsonArray
  created_at: Seconds
  expires_at: Seconds
  rotated_at: NullableSeconds
  /** Since 0004. */
  dpop_jkt: string | null
}

export interface AccessTokensTable {
  jti: string
  grant_id: string
  client_id: string
  user_id: string
  scopes: JsonArray
  created_at: Seconds
  expires_at: Seconds
  revoked_at: NullableSeconds
}

export interface SigningKeysTable {
  kid: string
  alg: SigningAlg
  public_jwk: string
  private_key_encrypted: string
  created_at: Seconds
  activates_at: Seconds
  /** Since 0003. */
  retired_at: NullableSeconds
}

export interface AdminTokensTable {
  id: string
  name: string
  token_hash: string
  created_at: Seconds
  last_used_at: NullableSeconds
  revoked_at: NullableSeconds
}

/** Since 0004. */
export interface PushedRequestsTable {
  uri_hash: string
  client_id: string
  /** JSON: `[name, value]` pairs. */
  params: string
  created_at: Seconds
  expires_at: Seconds
}

/** Since 0004. */
export interface UsedJtisTable {
  jti_hash: string
  expires_at: Seconds
}

/** Since 0005: the back-channel logouts to deliver, one per ended session (`sid`) and client. */
export interface LogoutDeliveriesTable {
  sid: string
  client_id: string
  user_id: string
  created_at: Seconds
  attempts: number
  next_attempt_at: Seconds
}

/** Since 0007: the initial access tokens of dynamic client registration (RFC 7591 §1.2). */
export interface RegistrationTokensTable {
  id: string
  name: string
  token_hash: string
  created_at: Seconds
  expires_at: NullableSeconds
  last_used_at: NullableSeconds
  revoked_at: NullableSeconds
}

/** Since 0009: WebAuthn credentials (passkeys), each signing in one user. */
export interface PasskeysTable {
  /** base64url */
  credential_id: string
  user_id: string
  /** The COSE public key, base64url. */
  public_key: string
  counter: Seconds
  transports: JsonArray
  name: string
  device_type: 'singleDevice' | 'multiDevice'
  backed_up: Flag
  created_at: Seconds
  last_used_at: NullableSeconds
}

export interface RateLimitsTable {
  key: string
  count: number
  reset_at: Seconds
  next_at: Seconds
}

export interface Database {
  clients: ClientsTable
  users: UsersTable
  login_sessions: LoginSessionsTable
  interactions: InteractionsTable
  consents: ConsentsTable
  grants: GrantsTable
  authorization_codes: AuthorizationCodesTable
  refresh_tokens: RefreshTokensTable
  access_tokens: AccessTokensTable
  signing_keys: SigningKeysTable
  rate_limits: RateLimitsTable
  admin_tokens: AdminTokensTable
  logout_deliveries: LogoutDeliveriesTable
  pushed_requests: PushedRequestsTable
  used_jtis: UsedJtisTable
  passkeys: PasskeysTable
  registration_tokens: RegistrationTokensTable
}
