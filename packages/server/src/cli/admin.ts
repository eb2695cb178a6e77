/**
 * Administration commands: clients, users, keys, admin tokens, migrations. Each is a thin shell
 * over the admin service (`src/admin/`), which checks everything before it writes and emits the
 * audit events: here they go to standard error, one JSON line each, with the field names of the
 * server's audit log lines. A refusal of the service (`AdminError`) is one line and exit code 1.
 */
import { readFile } from 'node:fs/promises'
import type { ServerConfig } from '../config/load.js'
import { createClient, listClients, removeClient, rotateClientSecret, showClient, updateClient, type ClientJson, type ClientUpdate } from '../admin/clients.js'
import type { AdminContext } from '../admin/context.js'
import { isAdminError } from '../admin/errors.js'
import { listKeys, retireKey, rotateKeys, type KeyJson } from '../admin/keys.js'
import { createAdminToken, listAdminTokens, revokeAdminToken, type AdminTokenJson } from '../admin/tokens.js'
import { createRegistrationToken, listRegistrationTokens, revokeRegistrationToken, type RegistrationTokenJson } from '../admin/registration-tokens.js'
import {
  createUser,
  disableUser,
  enableUser,
  importUsers,
  listUsers,
  removeUser,
  setUserPassword,
  showUser,
  updateUser,
  type UserJson,
  type UserUpdate,
} from '../admin/users.js'
import { eventFields } from '../http/audit.js'
import type { EventSink } from '../protocol/events.js'
import type { IdTokenAlg, TokenEndpointAuthMethod } from '../protocol/store.js'
import { migrateToLatest } from '../storage/migrate.js'
import { openDatabase } from '../storage/open.js'
import { CommandError } from './args.js'
import { nowSeconds, openRuntime } from './runtime.js'

export interface Io {
  out: (line: string) => void
  /** Standard error: the audit events, one JSON line each. */
  err: (line: string) => void
  readStdin: () => Promise<string>
}

/**
 * What `--json` prints: one JSON value on one line, its names in snake_case as the protocol's
 * (RFC 7591 client metadata where a field has a name there).
 */
function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value))
}

/** The audit events of a command as the server logs them: `event`, `time`, `client_id`, `user_id`, `actor`, … */
function stderrEvents(io: Io): EventSink {
  return {
    emit(event) {
      const { event: type, ...fields } = eventFields(event)
      io.err(JSON.stringify({ event: type, time: new Date().toISOString(), ...fields }))
    },
  }
}

/** Runs `operation` with the admin service over the configured store; a refusal becomes a one-line CommandError. */
async function withAdmin<T>(config: ServerConfig, io: Io, operation: (ctx: AdminContext) => Promise<T>): Promise<T> {
  const { store, keys } = await openRuntime(config)
  try {
    return await operation({ store, keys, config, now: nowSeconds, events: stderrEvents(io), actor: 'cli' })
  } catch (error) {
    if (isAdminError(error)) throw new CommandError(error.message, { cause: error })
    throw error
  } finally {
    await store.close()
  }
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString()

// ---------------------------------------------------------------------------------------------
// clients

export interface ClientAddOptions {
  name: string
  redirectUris: string[]
  scope: string
  isPublic: boolean
  idTokenAlg: IdTokenAlg | undefined
  firstParty: boolean
  /** OpenID RP-Initiated Logout: where the client may send the browser after a logout. */
  postLogoutRedirectUris?: string[]
  /** OpenID Back-Channel Logout: where logout tokens are POSTed. */
  backchannelLogoutUri?: string
  /** RFC 7591 `token_endpoint_auth_method`; default by `isPublic`. */
  authMethod?: TokenEndpointAuthMethod
  /** `private_key_jwt`: a JWK Set, or its URL. */
  jwks?: unknown
  jwksUri?: string
  requirePar?: boolean
  requireDpop?: boolean
  /** Public clients: origins allowed CORS besides the redirect URIs' origins. */
  webOrigins?: string[]
  json: boolean
}

export async function clientAdd(config: ServerConfig, options: ClientAddOptions, io: Io): Promise<void> {
  const created = await withAdmin(config, io, (ctx) =>
    createClient(ctx, {
      client_name: options.name,
      redirect_uris: options.redirectUris,
      scope: options.scope,
      token_endpoint_auth_method: options.authMethod ?? (options.isPublic ? 'none' : 'client_secret_basic'),
      id_token_signed_response_alg: options.idTokenAlg,
      first_party: options.firstParty,
      ...(options.postLogoutRedirectUris === undefined ? {} : { post_logout_redirect_uris: options.postLogoutRedirectUris }),
      ...(options.backchannelLogoutUri === undefined ? {} : { backchannel_logout_uri: options.backchannelLogoutUri }),
      ...(options.jwks === undefined ? {} : { jwks: options.jwks }),
      ...(options.jwksUri === undefined ? {} : { jwks_uri: options.jwksUri }),
      require_pushed_authorization_requests: options.requirePar === true,
      dpop_bound_access_tokens: options.requireDpop === true,
      ...(options.webOrigins === undefined ? {} : { web_origins: options.webOrigins }),
    }),
  )
  const { client_id: clientId, client_secret: secret } = created
  if (options.json) {
    printJson(io, secret === undefined ? { client_id: clientId } : { client_id: clientId, client_secret: secret })
    return
  }
  io.out(`client_id: ${clientId}`)
  if (secret !== undefined) {
    io.out(`client_secret: ${secret}`)
    io.out('The secret is shown once and stored only as a hash: keep it now.')
  }
}

function printClient(io: Io, c: ClientJson): void {
  const kind = c.token_endpoint_auth_method === 'none' ? 'public' : 'confidential'
  const origin = c.registered_dynamically ? ', registered itself' : c.first_party ? ', first-party' : ''
  io.out(`${c.client_id}  ${c.client_name}  (${kind}${origin}; id token ${c.id_token_signed_response_alg})`)
  io.out(`  redirect URIs: ${c.redirect_uris.join(' ')}`)
  io.out(`  scopes: ${c.scope}`)
  if (c.post_logout_redirect_uris.length > 0) io.out(`  post-logout redirect URIs: ${c.post_logout_redirect_uris.join(' ')}`)
  if (c.backchannel_logout_uri !== undefined) io.out(`  back-channel logout URI: ${c.backchannel_logout_uri}`)
  if (c.web_origins.length > 0) io.out(`  web origins: ${c.web_origins.join(' ')}`)
  if (c.token_endpoint_auth_method === 'private_key_jwt') io.out(`  authenticates with private_key_jwt, keys ${c.jwks_uri ?? 'registered inline'}`)
  const requires = [c.require_pushed_authorization_requests ? 'pushed authorization requests' : '', c.dpop_bound_access_tokens ? 'DPoP-bound tokens' : ''].filter(Boolean)
  if (requires.length > 0) io.out(`  requires ${requires.join(' and ')}`)
}

export async function clientList(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const clients = await withAdmin(config, io, listClients)
  if (json) {
    printJson(io, clients)
    return
  }
  if (clients.length === 0) io.out('no clients')
  for (const c of clients) printClient(io, c)
}

export async function clientShow(config: ServerConfig, clientId: string, json: boolean, io: Io): Promise<void> {
  const client = await withAdmin(config, io, (ctx) => showClient(ctx, clientId))
  if (json) printJson(io, client)
  else printClient(io, client)
}

export async function clientUpdate(config: ServerConfig, clientId: string, update: ClientUpdate, json: boolean, io: Io): Promise<void> {
  const client = await withAdmin(config, io, (ctx) => updateClient(ctx, clientId, update))
  if (json) printJson(io, client)
  else {
    io.out(`updated client ${client.client_id}`)
    printClient(io, client)
  }
}

export async function clientRotateSecret(config: ServerConfig, clientId: string, grace: number | undefined, json: boolean, io: Io): Promise<void> {
  const rotated = await withAdmin(config, io, (ctx) => rotateClientSecret(ctx, clientId, grace))
  if (json) {
    printJson(io, rotated)
    return
  }
  io.out(`client_secret: ${rotated.client_secret ?? ''}`)
  io.out('The secret is shown once and stored only as a hash: keep it now.')
  io.out(
    rotated.previous_secret_expires_at === undefined
      ? 'The previous secret no longer works.'
      : `The previous secret works until ${iso(rotated.previous_secret_expires_at)}, then no longer.`,
  )
}

export async function clientRemove(config: ServerConfig, clientId: string, json: boolean, io: Io): Promise<void> {
  const removed = await withAdmin(config, io, (ctx) => removeClient(ctx, clientId))
  if (json) printJson(io, removed)
  else io.out(`removed client ${removed.client_id} and every token issued to it`)
}

// ---------------------------------------------------------------------------------------------
// users

/** The password piped in, without the newline `echo` adds. */
async function passwordFromStdin(io: Io): Promise<string> {
  return (await io.readStdin()).replace(/\r?\n$/, '')
}

export interface UserAddOptions {
  username: string
  name: string | undefined
  email: string | undefined
  emailVerified: boolean
  /** Print `{"user_id": …, "username": …}`; the id is the user's OpenID `sub`. */
  json: boolean
}

export async function userAdd(config: ServerConfig, options: UserAddOptions, io: Io): Promise<void> {
  const password = await passwordFromStdin(io)
  const user = await withAdmin(config, io, (ctx) =>
    createUser(ctx, { username: options.username, password, name: options.name ?? null, email: options.email ?? null, email_verified: options.emailVerified }),
  )
  if (options.json) printJson(io, { user_id: user.id, username: user.username })
  else io.out(`added user ${user.username}`)
}

function printUser(io: Io, user: UserJson): void {
  const claims = [user.name, user.email === null ? null : `${user.email}${user.email_verified ? '' : ' (unverified)'}`].filter((part) => part !== null)
  io.out(`${user.username}  ${user.id}${claims.length > 0 ? `  ${claims.join(', ')}` : ''}${user.disabled ? '  DISABLED' : ''}`)
}

export async function userList(config: ServerConfig, page: { after?: string; limit?: number }, json: boolean, io: Io): Promise<void> {
  const users = await withAdmin(config, io, (ctx) => listUsers(ctx, page))
  if (json) {
    printJson(io, users)
    return
  }
  if (users.length === 0) io.out('no users')
  for (const user of users) printUser(io, user)
}

export async function userShow(config: ServerConfig, username: string, json: boolean, io: Io): Promise<void> {
  const user = await withAdmin(config, io, (ctx) => showUser(ctx, { username }))
  if (json) {
    printJson(io, user)
    return
  }
  printUser(io, user)
  io.out(`  created ${iso(user.created_at)}, updated ${iso(user.updated_at)}`)
}

/** `user update`, `set-password`, `disable`, `enable`, `remove`: each prints the user as it is now (removed: as it was). */
export type UserChange =
  | { kind: 'update'; update: UserUpdate }
  | { kind: 'set-password' }
  | { kind: 'disable' }
  | { kind: 'enable' }
  | { kind: 'remove' }

const DONE: Record<UserChange['kind'], (username: string) => string> = {
  update: (u) => `updated user ${u}`,
  'set-password': (u) => `set the password of ${u}; every session of ${u} ended`,
  disable: (u) => `disabled ${u}: signed out everywhere, every token revoked, sign-in refused`,
  enable: (u) => `enabled ${u}: they may sign in again`,
  remove: (u) => `removed user ${u} and everything of theirs (sessions, consents, tokens)`,
}

export async function userChange(config: ServerConfig, username: string, change: UserChange, json: boolean, io: Io): Promise<void> {
  // Read before the store is opened: nothing waits on a terminal with the database open.
  const password = change.kind === 'set-password' ? await passwordFromStdin(io) : undefined
  const user = await withAdmin(config, io, (ctx) => {
    const ref = { username }
    switch (change.kind) {
      case 'update':
        return updateUser(ctx, ref, change.update)
      case 'set-password':
        return setUserPassword(ctx, ref, password ?? '')
      case 'disable':
        return disableUser(ctx, ref)
      case 'enable':
        return enableUser(ctx, ref)
      case 'remove':
        return removeUser(ctx, ref)
    }
  })
  if (json) printJson(io, user)
  else io.out(DONE[change.kind](user.username))
}

export async function userImport(config: ServerConfig, file: string, json: boolean, io: Io): Promise<void> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new CommandError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const result = await withAdmin(config, io, (ctx) => importUsers(ctx, text))
  if (json) printJson(io, result)
  else io.out(`imported ${result.imported} users; hashes that are not scrypt are replaced at each user's next sign-in`)
}

// ---------------------------------------------------------------------------------------------
// keys

function printKey(io: Io, key: KeyJson): void {
  const until = key.published_until === null ? '' : `, published until ${iso(key.published_until)}`
  const retired = key.retired_at === null ? '' : `, retired ${iso(key.retired_at)}`
  io.out(`${key.kid}  ${key.alg}  ${key.state}  (created ${iso(key.created_at)}, signs from ${iso(key.activates_at)}${retired}${until})`)
}

export async function keysList(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const keys = await withAdmin(config, io, listKeys)
  if (json) {
    printJson(io, keys)
    return
  }
  if (keys.length === 0) io.out('no signing keys (the server makes them at its first start)')
  for (const key of keys) printKey(io, key)
}

export async function keysRotate(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const { kids, active_from: from } = await withAdmin(config, io, rotateKeys)
  if (json) {
    // Seconds since the epoch, as the protocol's times (`exp`, `iat`).
    printJson(io, { kids, active_from: from })
    return
  }
  io.out(`published ${kids.length} new signing keys (${kids.join(', ')}); they sign from ${iso(from)}`)
  io.out('Old keys stay published until every token they signed has expired.')
}

export async function keysRetire(config: ServerConfig, kid: string, json: boolean, io: Io): Promise<void> {
  const key = await withAdmin(config, io, (ctx) => retireKey(ctx, kid))
  if (json) {
    printJson(io, key)
    return
  }
  io.out(`retired ${key.kid} (${key.alg}): it signs nothing from now on (a running server notices within keys.cacheTtl)`)
  io.out(key.published_until === null || key.state === 'expired' ? 'It signed nothing and is no longer published.' : `It stays published until ${iso(key.published_until)}, when the tokens it signed have expired.`)
}

// ---------------------------------------------------------------------------------------------
// admin tokens

function printAdminToken(io: Io, token: AdminTokenJson): void {
  const used = token.last_used_at === null ? 'never used' : `last used ${iso(token.last_used_at)}`
  const revoked = token.revoked_at === null ? '' : `, REVOKED ${iso(token.revoked_at)}`
  io.out(`${token.id}  ${token.name}  (created ${iso(token.created_at)}, ${used}${revoked})`)
}

export async function adminTokenCreate(config: ServerConfig, name: string, json: boolean, io: Io): Promise<void> {
  const created = await withAdmin(config, io, (ctx) => createAdminToken(ctx, name))
  if (json) {
    printJson(io, created)
    return
  }
  io.out(`token: ${created.token}`)
  io.out(`The token (id ${created.id}) is shown once and stored only as a hash: keep it now. Use it as Authorization: Bearer on the admin API.`)
}

export async function adminTokenList(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const tokens = await withAdmin(config, io, listAdminTokens)
  if (json) {
    printJson(io, tokens)
    return
  }
  if (tokens.length === 0) io.out('no admin tokens')
  for (const token of tokens) printAdminToken(io, token)
}

export async function adminTokenRevoke(config: ServerConfig, idOrName: string, json: boolean, io: Io): Promise<void> {
  const revoked = await withAdmin(config, io, (ctx) => revokeAdminToken(ctx, idOrName))
  if (json) printJson(io, revoked)
  else io.out(`revoked admin token ${revoked.name} (${revoked.id})`)
}

// ---------------------------------------------------------------------------------------------
// initial access tokens of dynamic client registration (RFC 7591)

function printRegistrationToken(io: Io, token: RegistrationTokenJson, now: number): void {
  const used = token.last_used_at === null ? 'never used' : `last used ${iso(token.last_used_at)}`
  const expires = token.expires_at === null ? '' : token.expires_at <= now ? `, EXPIRED ${iso(token.expires_at)}` : `, expires ${iso(token.expires_at)}`
  const revoked = token.revoked_at === null ? '' : `, REVOKED ${iso(token.revoked_at)}`
  io.out(`${token.id}  ${token.name}  (created ${iso(token.created_at)}, ${used}${expires}${revoked})`)
}

export async function registrationTokenCreate(config: ServerConfig, name: string, expiresIn: number | undefined, json: boolean, io: Io): Promise<void> {
  const created = await withAdmin(config, io, (ctx) => createRegistrationToken(ctx, name, expiresIn))
  if (json) {
    printJson(io, created)
    return
  }
  io.out(`token: ${created.token}`)
  io.out(
    `The token (id ${created.id}) is shown once and stored only as a hash: keep it now. With serve --registration token, a client registers at ${config.issuer}${config.endpoints.registration} with it as Authorization: Bearer` +
      (created.expires_at === null ? ', until it is revoked.' : `, until ${iso(created.expires_at)}.`),
  )
}

export async function registrationTokenList(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const tokens = await withAdmin(config, io, listRegistrationTokens)
  if (json) {
    printJson(io, tokens)
    return
  }
  if (tokens.length === 0) io.out('no registration tokens')
  for (const token of tokens) printRegistrationToken(io, token, nowSeconds())
}

export async function registrationTokenRevoke(config: ServerConfig, idOrName: string, json: boolean, io: Io): Promise<void> {
  const revoked = await withAdmin(config, io, (ctx) => revokeRegistrationToken(ctx, idOrName))
  if (json) printJson(io, revoked)
  else io.out(`revoked registration token ${revoked.name} (${revoked.id}); clients it registered stay registered`)
}

// ---------------------------------------------------------------------------------------------
// migrations

export async function migrate(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const db = await openDatabase(config.db, { poolSize: 1 })
  try {
    const { applied } = await migrateToLatest(db)
    if (json) {
      printJson(io, { applied })
      return
    }
    io.out(applied.length === 0 ? 'the database schema is up to date' : `applied migrations: ${applied.join(', ')}`)
  } finally {
    await db.destroy()
  }
}
