/**
 * Rows ↔ records: one pair of mappers per table, between the rows of `database.ts` (snake_case
 * columns) and the records of `protocol/store.ts`. Both stores read and write through them
 * (`SqlStore` through kysely, `SqliteStore` on its prepared statements), so a column converts the
 * same way on SQLite and PostgreSQL: times through `Number()` (PostgreSQL returns int8 as a string),
 * flags as 0/1, string arrays as JSON text.
 *
 * A `…Row` mapper's key order is the column order of its table's compiled insert (`SAMPLE_ROWS`,
 * `queries.compileInsert`), so each one writes its keys in one fixed order.
 */
import type { Insertable, Selectable } from 'kysely'
import type {
  AccessTokenRecord,
  AdminTokenRecord,
  ClientRecord,
  CodeRecord,
  ConsentRecord,
  GrantRecord,
  GrantType,
  InteractionRecord,
  LoginSessionRecord,
  LogoutDeliveryRecord,
  PasskeyRecord,
  RefreshTokenRecord,
  RegistrationTokenRecord,
  SigningKeyRecord,
  UserRecord,
} from '../protocol/store.js'
import type { Database, Flag } from './database.js'
import type { SampleRows } from './queries.js'

export type Row<T extends keyof Database> = Selectable<Database[T]>
export type NewRow<T extends keyof Database> = Insertable<Database[T]>

/** One row of each inserted table, as its mapper writes it: fixes the column order of each compiled insert. */
export const SAMPLE_ROWS: SampleRows = {
  grant: grantRow({ id: '', clientId: '', userId: '', scopes: [], authTime: 0, createdAt: 0, revokedAt: null }),
  code: codeRow({
    codeHash: '',
    grantId: '',
    clientId: '',
    userId: '',
    redirectUri: '',
    redirectUriSent: true,
    codeChallenge: null,
    codeChallengeMethod: null,
    nonce: null,
    scopes: [],
    authTime: 0,
    createdAt: 0,
    expiresAt: 0,
    consumedAt: null,
    dpopJkt: null,
  }),
  accessToken: accessTokenRow({ jti: '', grantId: '', clientId: '', userId: '', scopes: [], createdAt: 0, expiresAt: 0, revokedAt: null }),
  refreshToken: refreshTokenRow({ tokenHash: '', grantId: '', clientId: '', userId: '', scopes: [], createdAt: 0, expiresAt: 0, rotatedAt: null, dpopJkt: null }),
}

export function clientRow(client: ClientRecord): NewRow<'clients'> {
  return {
    client_id: client.clientId,
    name: client.name,
    secret_hash: client.secretHash,
    redirect_uris: list(client.redirectUris),
    scopes: list(client.scopes),
    grant_types: list(client.grantTypes),
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    pkce_optional: flag(client.pkceOptional),
    first_party: flag(client.firstParty),
    created_at: client.createdAt,
    post_logout_redirect_uris: list(client.postLogoutRedirectUris),
    previous_secret_hash: client.previousSecretHash,
    previous_secret_expires_at: client.previousSecretExpiresAt,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    jwks: client.jwks,
    jwks_uri: client.jwksUri,
    require_pushed_authorization_requests: flag(client.requirePushedAuthorizationRequests),
    dpop_bound_access_tokens: flag(client.dpopBoundAccessTokens),
    backchannel_logout_uri: client.backchannelLogoutUri,
    web_origins: list(client.webOrigins),
    registered_dynamically: flag(client.registeredDynamically),
    registration_access_token_hash: client.registrationAccessTokenHash,
  }
}

export function toClient(row: Row<'clients'>): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: parseList(row.redirect_uris),
    scopes: parseList(row.scopes),
    grantTypes: parseList<GrantType>(row.grant_types),
    idTokenSignedResponseAlg: row.id_token_signed_response_alg,
    pkceOptional: row.pkce_optional === 1,
    firstParty: row.first_party === 1,
    postLogoutRedirectUris: parseList(row.post_logout_redirect_uris),
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: nullableNumber(row.previous_secret_expires_at),
    // Clients registered before 0004 authenticate by their secret, or not at all when public.
    tokenEndpointAuthMethod: row.token_endpoint_auth_method ?? (row.secret_hash === null ? 'none' : 'client_secret_basic'),
    jwks: row.jwks,
    jwksUri: row.jwks_uri,
    requirePushedAuthorizationRequests: row.require_pushed_authorization_requests === 1,
    dpopBoundAccessTokens: row.dpop_bound_access_tokens === 1,
    backchannelLogoutUri: row.backchannel_logout_uri,
    webOrigins: parseList(row.web_origins),
    registeredDynamically: row.registered_dynamically === 1,
    registrationAccessTokenHash: row.registration_access_token_hash,
    createdAt: Number(row.created_at),
  }
}

export function userRow(user: UserRecord): NewRow<'users'> {
  return {
    id: user.id,
    username: user.username,
    password_hash: user.passwordHash,
    name: user.name,
    email: user.email,
    email_verified: flag(user.emailVerified),
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    disabled_at: user.disabledAt,
  }
}

export function toUser(row: Row<'users'>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    name: row.name,
    email: row.email,
    emailVerified: row.email_verified === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    disabledAt: nullableNumber(row.disabled_at),
  }
}

export function loginSessionRow(session: LoginSessionRecord): NewRow<'login_sessions'> {
  return {
    id_hash: session.idHash,
    user_id: session.userId,
    auth_time: session.authTime,
    created_at: session.createdAt,
    expires_at: session.expiresAt,
    browser_hash: session.browserHash,
    sid: session.sid ?? null,
    amr: session.amr === undefined ? null : list(session.amr),
  }
}

export function toLoginSession(row: Row<'login_sessions'>): LoginSessionRecord {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    authTime: Number(row.auth_time),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    browserHash: row.browser_hash,
    ...(row.sid === null ? {} : { sid: row.sid }),
    ...(row.amr === null ? {} : { amr: parseList(row.amr) }),
  }
}

export function interactionRow(interaction: InteractionRecord): NewRow<'interactions'> {
  return {
    id: interaction.id,
    client_id: interaction.clientId,
    request: interaction.request,
    state: interaction.state,
    csrf_token: interaction.csrfToken,
    browser_hash: interaction.browserHash,
    user_id: interaction.userId,
    auth_time: interaction.authTime,
    session_hash: interaction.sessionHash,
    created_at: interaction.createdAt,
    expires_at: interaction.expiresAt,
  }
}

export function toInteraction(row: Row<'interactions'>): InteractionRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    request: row.request,
    state: row.state,
    csrfToken: row.csrf_token,
    browserHash: row.browser_hash,
    userId: row.user_id,
    authTime: nullableNumber(row.auth_time),
    sessionHash: row.session_hash,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  }
}

export function toConsent(row: Row<'consents'>): ConsentRecord {
  return {
    userId: row.user_id,
    clientId: row.client_id,
    scopes: parseList(row.scopes),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

export function grantRow(grant: GrantRecord): NewRow<'grants'> {
  return {
    id: grant.id,
    client_id: grant.clientId,
    user_id: grant.userId,
    scopes: list(grant.scopes),
    auth_time: grant.authTime,
    created_at: grant.createdAt,
    revoked_at: grant.revokedAt,
    resources: grant.resources === undefined ? null : list(grant.resources),
    sid: grant.sid ?? null,
    amr: grant.amr === undefined ? null : list(grant.amr),
  }
}

export function toGrant(row: Row<'grants'>): GrantRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    userId: row.user_id,
    scopes: parseList(row.scopes),
    authTime: Number(row.auth_time),
    createdAt: Number(row.created_at),
    revokedAt: nullableNumber(row.revoked_at),
    ...(row.resources === null ? {} : { resources: parseList(row.resources) }),
    ...(row.sid === null ? {} : { sid: row.sid }),
    ...(row.amr === null ? {} : { amr: parseList(row.amr) }),
  }
}

export function codeRow(code: CodeRecord): NewRow<'authorization_codes'> {
  return {
    code_hash: code.codeHash,
    grant_id: code.grantId,
    client_id: code.clientId,
    user_id: code.userId,
    redirect_uri: code.redirectUri,
    redirect_uri_sent: flag(code.redirectUriSent),
    code_challenge: code.codeChallenge,
    code_challenge_method: code.codeChallengeMethod,
    nonce: code.nonce,
    scopes: list(code.scopes),
    auth_time: code.authTime,
    created_at: code.createdAt,
    expires_at: code.expiresAt,
    consumed_at: code.consumedAt,
    dpop_jkt: code.dpopJkt,
  }
}

export function toCode(row: Row<'authorization_codes'>): CodeRecord {
  return {
    codeHash: row.code_hash,
    grantId: row.grant_id,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    redirectUriSent: row.redirect_uri_sent === 1,
    codeChallenge: row.code_challenge,
    codeChallengeMethod: row.code_challenge_method,
    nonce: row.nonce,
    scopes: parseList(row.scopes),
    authTime: Number(row.auth_time),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    consumedAt: nullableNumber(row.consumed_at),
    dpopJkt: row.dpop_jkt,
  }
}

export function refreshTokenRow(token: RefreshTokenRecord): NewRow<'refresh_tokens'> {
  return {
    token_hash: token.tokenHash,
    grant_id: token.grantId,
    client_id: token.clientId,
    user_id: token.userId,
    scopes: list(token.scopes),
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    rotated_at: token.rotatedAt,
    dpop_jkt: token.dpopJkt,
  }
}

export function toRefreshToken(row: Row<'refresh_tokens'>): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    grantId: row.grant_id,
    clientId: row.client_id,
    userId: row.user_id,
    scopes: parseList(row.scopes),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    rotatedAt: nullableNumber(row.rotated_at),
    dpopJkt: row.dpop_jkt,
  }
}

export function accessTokenRow(token: AccessTokenRecord): NewRow<'access_tokens'> {
  return {
    jti: token.jti,
    grant_id: token.grantId,
    client_id: token.clientId,
    user_id: token.userId,
    scopes: list(token.scopes),
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
  }
}

export function toAccessToken(row: Row<'access_tokens'>): AccessTokenRecord {
  return {
    jti: row.jti,
    grantId: row.grant_id,
    clientId: row.client_id,
    userId: row.user_id,
    scopes: parseList(row.scopes),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: nullableNumber(row.revoked_at),
  }
}

export function signingKeyRow(key: SigningKeyRecord): NewRow<'signing_keys'> {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: key.publicJwk,
    private_key_encrypted: key.privateKeyEncrypted,
    created_at: key.createdAt,
    activates_at: key.activatesAt,
    retired_at: key.retiredAt,
  }
}

export function toSigningKey(row: Row<'signing_keys'>): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateKeyEncrypted: row.private_key_encrypted,
    createdAt: Number(row.created_at),
    activatesAt: Number(row.activates_at),
    retiredAt: nullableNumber(row.retired_at),
  }
}

export function adminTokenRow(token: AdminTokenRecord): NewRow<'admin_tokens'> {
  return {
    id: token.id,
    name: token.name,
    token_hash: token.tokenHash,
    created_at: token.createdAt,
    last_used_at: token.lastUsedAt,
    revoked_at: token.revokedAt,
  }
}

export function toAdminToken(row: Row<'admin_tokens'>): AdminTokenRecord {
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.token_hash,
    createdAt: Number(row.created_at),
    lastUsedAt: nullableNumber(row.last_used_at),
    revokedAt: nullableNumber(row.revoked_at),
  }
}

export function registrationTokenRow(token: RegistrationTokenRecord): NewRow<'registration_tokens'> {
  return {
    id: token.id,
    name: token.name,
    token_hash: token.tokenHash,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    last_used_at: token.lastUsedAt,
    revoked_at: token.revokedAt,
  }
}

export function toRegistrationToken(row: Row<'registration_tokens'>): RegistrationTokenRecord {
  return {
    id: row.id,
    name: row.name,
    tokenHash: row.token_hash,
    createdAt: Number(row.created_at),
    expiresAt: nullableNumber(row.expires_at),
    lastUsedAt: nullableNumber(row.last_used_at),
    revokedAt: nullableNumber(row.revoked_at),
  }
}

export function passkeyRow(passkey: PasskeyRecord): NewRow<'passkeys'> {
  return {
    credential_id: passkey.credentialId,
    user_id: passkey.userId,
    public_key: passkey.publicKey,
    counter: passkey.counter,
    transports: list(passkey.transports),
    name: passkey.name,
    device_type: passkey.deviceType,
    backed_up: flag(passkey.backedUp),
    created_at: passkey.createdAt,
    last_used_at: passkey.lastUsedAt,
  }
}

export function toPasskey(row: Row<'passkeys'>): PasskeyRecord {
  return {
    credentialId: row.credential_id,
    userId: row.user_id,
    publicKey: row.public_key,
    counter: Number(row.counter),
    transports: parseList(row.transports),
    name: row.name,
    deviceType: row.device_type,
    backedUp: row.backed_up === 1,
    createdAt: Number(row.created_at),
    lastUsedAt: nullableNumber(row.last_used_at),
  }
}

// column helpers

/** A string array as stored: JSON text. */
export function toLogoutDelivery(row: Row<'logout_deliveries'>): LogoutDeliveryRecord {
  return {
    sid: row.sid,
    clientId: row.client_id,
    userId: row.user_id,
    createdAt: Number(row.created_at),
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
  }
}

export function list(items: readonly string[]): string {
  return JSON.stringify(items)
}

export function parseList<T extends string = string>(text: string): T[] {
  return JSON.parse(text) as T[]
}

export function flag(value: boolean): Flag {
  return value ? 1 : 0
}

export function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value)
}
