/**
 * Administration commands: clients, users, keys, migrations. Admin work is CLI, never public HTTP.
 */
import { randomUUID } from 'node:crypto'
import type { ServerConfig } from '../config/load.js'
import { registerClient, RegistrationError } from '../protocol/clients.js'
import { DuplicateError, type ClientRecord, type IdTokenAlg } from '../protocol/store.js'
import { migrateToLatest } from '../storage/migrate.js'
import { openDatabase } from '../storage/open.js'
import { hashPassword } from '../tokens/secrets.js'
import { CommandError, UsageError } from './args.js'
import { nowSeconds, openRuntime } from './runtime.js'

export interface Io {
  out: (line: string) => void
  readStdin: () => Promise<string>
}

/**
 * What `--json` prints: one JSON value on one line, its names in snake_case as the protocol's
 * (RFC 7591 client metadata where a field has a name there).
 */
function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value))
}

/** A registered client as `client list --json` prints it: the fields `client add --json` names, without the secret. */
export function clientJson(client: ClientRecord) {
  return {
    client_id: client.clientId,
    client_name: client.name,
    public: client.secretHash === null,
    redirect_uris: client.redirectUris,
    scopes: client.scopes,
    grant_types: client.grantTypes,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    pkce_optional: client.pkceOptional,
    first_party: client.firstParty,
    created_at: client.createdAt,
  }
}

export interface ClientAddOptions {
  name: string
  redirectUris: string[]
  scope: string
  isPublic: boolean
  idTokenAlg: IdTokenAlg | undefined
  firstParty: boolean
  json: boolean
}

export async function clientAdd(config: ServerConfig, options: ClientAddOptions, io: Io): Promise<void> {
  const { store } = await openRuntime(config)
  try {
    let registered
    try {
      registered = registerClient({ ...options }, Object.keys(config.scopes), nowSeconds())
    } catch (error) {
      if (error instanceof RegistrationError) throw new UsageError(error.message)
      throw error
    }
    await store.createClient(registered.record)
    const { clientId } = registered.record
    if (options.json) {
      printJson(io, registered.secret === null ? { client_id: clientId } : { client_id: clientId, client_secret: registered.secret })
      return
    }
    io.out(`client_id: ${clientId}`)
    if (registered.secret !== null) {
      io.out(`client_secret: ${registered.secret}`)
      io.out('The secret is shown once and stored only as a hash: keep it now.')
    }
  } finally {
    await store.close()
  }
}

export async function clientList(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const { store } = await openRuntime(config)
  try {
    const clients = await store.listClients()
    if (json) {
      printJson(io, clients.map(clientJson))
      return
    }
    if (clients.length === 0) {
      io.out('no clients')
      return
    }
    for (const c of clients) {
      const kind = c.secretHash === null ? 'public' : 'confidential'
      io.out(`${c.clientId}  ${c.name}  (${kind}${c.firstParty ? ', first-party' : ''}; id token ${c.idTokenSignedResponseAlg})`)
      io.out(`  redirect URIs: ${c.redirectUris.join(' ')}`)
      io.out(`  scopes: ${c.scopes.join(' ')}`)
    }
  } finally {
    await store.close()
  }
}

export async function clientRemove(config: ServerConfig, clientId: string, io: Io): Promise<void> {
  const { store } = await openRuntime(config)
  try {
    if (!(await store.deleteClient(clientId))) throw new CommandError(`no client with id ${clientId}`)
    io.out(`removed client ${clientId} and every token issued to it`)
  } finally {
    await store.close()
  }
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
  if (!/^[\w.@+-]{1,64}$/.test(options.username)) throw new UsageError('--username: 1 to 64 of A-Z a-z 0-9 _ . @ + -')
  if (options.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(options.email)) throw new UsageError(`--email: not an email address: ${options.email}`)
  const password = (await io.readStdin()).replace(/\r?\n$/, '')
  if (password.length < 8) throw new UsageError('the password (on standard input) must have at least 8 characters')
  const { store } = await openRuntime(config)
  try {
    const now = nowSeconds()
    const id = randomUUID()
    await store.createUser({
      id,
      username: options.username,
      passwordHash: await hashPassword(password),
      name: options.name ?? null,
      email: options.email ?? null,
      emailVerified: options.emailVerified,
      createdAt: now,
      updatedAt: now,
      disabledAt: null,
    })
    if (options.json) printJson(io, { user_id: id, username: options.username })
    else io.out(`added user ${options.username}`)
  } catch (error) {
    if (error instanceof DuplicateError) throw new CommandError(`a user named ${options.username} exists already`)
    throw error
  } finally {
    await store.close()
  }
}

export async function keysRotate(config: ServerConfig, json: boolean, io: Io): Promise<void> {
  const { store, keys } = await openRuntime(config)
  try {
    const now = nowSeconds()
    await keys.ensureKeys(now)
    const kids = await keys.rotate(now)
    const from = now + config.keys.activationDelay
    if (json) {
      // Seconds since the epoch, as the protocol's times (`exp`, `iat`).
      printJson(io, { kids, active_from: from })
      return
    }
    const at = new Date(from * 1000).toISOString()
    io.out(`published ${kids.length} new signing keys (${kids.join(', ')}); they sign from ${at}`)
    io.out('Old keys stay published until every token they signed has expired.')
  } finally {
    await store.close()
  }
}

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
