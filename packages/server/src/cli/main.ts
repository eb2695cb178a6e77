/**
 * `authcode`: the command-line interface of the authorization server.
 * Errors are one line on stderr (exit 1; exit 2 for a wrong call, with a pointer to the usage);
 * never a stack trace. Every `--json` prints one JSON value, its names in snake_case.
 */
import { readFileSync } from 'node:fs'
import { loadConfig, type ConfigFlags } from '../config/load.js'
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../protocol/clients.js'
import { REGISTRATION_MODES, type RegistrationMode } from '../protocol/registration.js'
import type { IdTokenAlg, TokenEndpointAuthMethod } from '../protocol/store.js'
import { DEFAULT_ID_TOKEN_ALG, ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import {
  adminTokenCreate,
  adminTokenList,
  adminTokenRevoke,
  clientAdd,
  clientList,
  clientRemove,
  clientRotateSecret,
  clientShow,
  clientUpdate,
  keysList,
  keysRetire,
  keysRotate,
  migrate,
  registrationTokenCreate,
  registrationTokenList,
  registrationTokenRevoke,
  userAdd,
  userChange,
  userImport,
  userList,
  userShow,
  type Io,
} from './admin.js'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { ClientUpdate } from '../admin/clients.js'
import type { UserUpdate } from '../admin/users.js'
import { CommandError, configFlags, UsageError } from './args.js'

/** `--jwks FILE`: the file's JSON (the admin service checks it is a JWK Set of public keys). */
function readJwksFile(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new CommandError(`--jwks: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new CommandError(`--jwks: ${path} is not JSON`)
  }
}

/** `a, b or c` */
const oneOf = (names: readonly string[]): string => `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`

const DB_HELP = `  --db URL          database: sqlite:PATH (default sqlite:./data/authcode.db); env AUTHCODE_DB
  --config FILE     config file, JSON or YAML; env AUTHCODE_CONFIG
  -h, --help        show this help`

const ASYNCAPI_HELP = `  --asyncapi FILE   offer exactly the scopes of the AsyncAPI document's oauth2 authorization code
                    scheme (plus openid), and serve its endpoints at the document's paths when its
                    URLs are under the issuer; env AUTHCODE_ASYNCAPI
  --scheme NAME     the scheme to use when the document's schemes name different authorization
                    servers (schemes of one server are taken as one); env AUTHCODE_ASYNCAPI_SCHEME`

const ASYNCAPI_OPTIONS = {
  asyncapi: { type: 'string' },
  scheme: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

/** The common configuration flags plus `--asyncapi` / `--scheme`. */
function flagsWithAsyncApi(values: Parameters<typeof configFlags>[0] & { asyncapi?: string; scheme?: string }): ConfigFlags {
  const flags = configFlags(values)
  if (values.asyncapi !== undefined) flags.asyncapi = values.asyncapi
  if (values.scheme !== undefined) {
    if (values.asyncapi === undefined) throw new UsageError('--scheme needs --asyncapi FILE')
    flags.scheme = values.scheme
  }
  return flags
}

const HELP: Record<string, string> = {
  main: `Usage: authcode <command> [options]

The authcode OAuth 2.1 / OpenID Connect authorization server.

Commands:
  serve             run the authorization server
  client add        register a client
  client list       list registered clients
  client remove ID  remove a client and everything issued to it
  client show ID    show a client's registration
  client update ID  change a client's name, redirect URIs, scopes or post-logout redirect URIs
  client rotate-secret ID
                    give a client a new secret (the old one stops at once, or after --grace)
  user add          add a user (password on standard input)
  user list         list the users
  user show         show a user
  user update       change a user's name or email
  user set-password set a user's password (on standard input); their sessions end
  user disable      sign a user out everywhere, revoke every token, refuse their sign-in
  user enable       let a disabled user sign in again
  user remove       remove a user and everything of theirs
  user import FILE  add users from JSON lines with scrypt, bcrypt or argon2id hashes
  keys list         list the signing keys with their state and dates
  keys rotate       publish new signing keys; they sign after keys.activationDelay
  keys retire KID   stop a key signing at once; it stays published until its tokens expire
  admin-token create
                    make a bearer token for the admin API (shown once)
  admin-token list  list the admin tokens
  admin-token revoke ID
                    revoke an admin token, by id or name
  registration-token create
                    make an initial access token for dynamic client registration (shown once)
  registration-token list
                    list the registration tokens
  registration-token revoke ID
                    revoke a registration token, by id or name
  migrate           bring the database schema up to date
  asyncapi check F  the oauth2 flows, scopes and per-operation scopes of an AsyncAPI document

Run 'authcode <command> --help' for a command's options; 'authcode --version' for the version.
Every change a command makes is an audit event: one JSON line on standard error.

Environment: every config-file key has a variable, its path in upper snake case after AUTHCODE_
(lifetimes.code: AUTHCODE_LIFETIMES_CODE; rateLimit.loginPerIp.max:
AUTHCODE_RATE_LIMIT_LOGIN_PER_IP_MAX; asyncapi.document: AUTHCODE_ASYNCAPI). Among them
AUTHCODE_DB, AUTHCODE_ISSUER, AUTHCODE_PORT, AUTHCODE_HOST, AUTHCODE_METRICS_PORT,
AUTHCODE_TRUST_PROXY, AUTHCODE_LOG_LEVEL. Also AUTHCODE_CONFIG (the config file) and
AUTHCODE_SECRET (encrypts signing keys at rest; without it a secret is generated in the data
directory). Flags win over variables, variables over the file.`,
  serve: `Usage: authcode serve [options]

  --port N          port to listen on (default 4000); env AUTHCODE_PORT
  --host ADDR       address to listen on: an IP address or a host name (default localhost,
                    0.0.0.0 for every IPv4 interface); env AUTHCODE_HOST
  --metrics-port N  serve Prometheus metrics at /metrics on this port, on 127.0.0.1 unless
                    metricsHost says otherwise (default: no metrics); env AUTHCODE_METRICS_PORT
  --admin-port N    serve the admin API (/admin/…, admin tokens from authcode admin-token
                    create) on this port, on 127.0.0.1 unless adminHost says otherwise
                    (default: no admin API); env AUTHCODE_ADMIN_PORT
  --issuer URL      issuer identifier (default http://localhost:PORT); env AUTHCODE_ISSUER
  --demo            create a demo user and a demo client when absent, and print the demo login
  --trust-proxy P   the proxies in front, whose X-Forwarded-For entries are believed: their number
                    (e.g. 1) or their addresses and CIDR ranges, comma-separated (e.g.
                    10.0.0.1,fd00::/8); the caller is the right-most entry they did not write.
                    Default: none (the header is ignored); env AUTHCODE_TRUST_PROXY
  --registration MODE
                    dynamic client registration (RFC 7591) at /register: off (default), token
                    (with an initial access token from authcode registration-token create) or
                    open (anyone); env AUTHCODE_REGISTRATION_MODE
${ASYNCAPI_HELP}
${DB_HELP}`,
  'client add': `Usage: authcode client add --name NAME --redirect-uri URI [--redirect-uri URI…] [options]

  --name NAME             the name users see on the consent page
  --redirect-uri URI      a redirect URI, compared by exact string (repeatable)
  --scope "a b"           scopes the client may request (default "openid profile email")
  --asyncapi FILE         allow exactly the scopes of the document's oauth2 scheme, plus openid
  --scheme NAME           the scheme to use when the document's schemes name different servers
  --public                a public client (no secret; PKCE; native apps may vary loopback ports)
  --auth-method METHOD    how it authenticates at /token: client_secret_basic (default; a secret
                          client may also use client_secret_post), client_secret_post,
                          private_key_jwt (with --jwks or --jwks-uri; no secret) or none (--public)
  --jwks FILE             private_key_jwt: a JSON file with the client's public keys (a JWK Set)
  --jwks-uri URL          private_key_jwt: where its JWK Set is fetched (https, or http on loopback)
  --require-par           the client must push its authorization requests (RFC 9126)
  --require-dpop          the client's access tokens must be DPoP-bound (RFC 9449)
  --id-token-alg ALG      ${oneOf(ID_TOKEN_ALGS.map((alg) => (alg === DEFAULT_ID_TOKEN_ALG ? `${alg} (default)` : alg)))}
  --first-party           consent may be skipped (config consent.skipForFirstParty)
  --post-logout-redirect-uri URI
                          where the client may send the browser after a logout, compared by
                          exact string (repeatable; OpenID RP-Initiated Logout)
  --backchannel-logout-uri URI
                          where logout tokens are POSTed when a session the client signed in to
                          ends: https, or http on a loopback host (OpenID Back-Channel Logout)
  --web-origin ORIGIN     a public client's origin whose pages may call /token, /revoke and /par
                          (CORS), besides its redirect URIs' origins: scheme://host[:port], https
                          or http on localhost or a loopback IP (repeatable; --public only)
  --json                  print {"client_id": …, "client_secret": …}
${DB_HELP}`,
  'client list': `Usage: authcode client list [--json]

  --json            print a JSON array of clients, as client show --json does; never a secret
${DB_HELP}`,
  'client remove': `Usage: authcode client remove CLIENT_ID [--json]

  --json            print the removed client, as client show --json does
${DB_HELP}`,
  'client show': `Usage: authcode client show CLIENT_ID [--json]

  --json            print the client's RFC 7591 metadata: {"client_id", "client_name",
                    "redirect_uris", "scope", "token_endpoint_auth_method", "grant_types",
                    "response_types", "post_logout_redirect_uris", "id_token_signed_response_alg",
                    "first_party", "pkce_optional", "web_origins", "registered_dynamically",
                    "created_at"}; never a secret
${DB_HELP}`,
  'client update': `Usage: authcode client update CLIENT_ID [options]

Changes only what is given, by the rules of client add. A redirect URI left out is refused from
now on, and the sign-ins and codes in progress for it end.

  --name NAME                      the name users see on the consent page
  --redirect-uri URI               a redirect URI (repeatable): replaces the whole list
  --scope "a b"                    the scopes the client may request
  --post-logout-redirect-uri URI   where the client may send the browser after a logout
                                   (repeatable): replaces the whole list
  --no-post-logout-redirect-uris   remove every post-logout redirect URI
  --web-origin ORIGIN              a public client's origin allowed CORS besides its redirect
                                   URIs' origins (repeatable): replaces the whole list
  --no-web-origins                 remove every web origin
  --json                           print the client, as client show --json does
${DB_HELP}`,
  'client rotate-secret': `Usage: authcode client rotate-secret CLIENT_ID [--grace SECONDS] [--json]

Gives a confidential client a new secret, printed once. The previous secret stops working at
once, or keeps working for SECONDS more (at most 30 days) so a deployment can switch over.

  --grace SECONDS   how long the previous secret keeps working (default 0)
  --json            print the client with "client_secret" (and "previous_secret_expires_at"
                    with --grace)
${DB_HELP}`,
  'user add': `Usage: authcode user add --username NAME --password-stdin [options]

  --username NAME     the login name
  --password-stdin    read the password from standard input (required)
  --name "Full Name"  the name claim
  --email ADDR        the email claim
  --email-verified    mark the email as verified
  --json              print {"user_id": …, "username": …}; user_id is the user's OpenID sub
${DB_HELP}`,
  'user list': `Usage: authcode user list [--after USERNAME] [--limit N] [--json]

Users in username order, disabled ones included.

  --after USERNAME  start after this username
  --limit N         at most N users (1 to 1000)
  --json            print a JSON array of {"id", "username", "name", "email", "email_verified",
                    "disabled", "created_at", "updated_at"}; never a password hash
${DB_HELP}`,
  'user show': `Usage: authcode user show --username NAME [--json]

  --username NAME   the user
  --json            print {"id", "username", "name", "email", "email_verified", "disabled",
                    "created_at", "updated_at"}
${DB_HELP}`,
  'user update': `Usage: authcode user update --username NAME [--name "Full Name"] [--email ADDR] [--email-verified | --email-unverified] [--json]

Changes only what is given. A new email is unverified unless --email-verified is given too.

  --username NAME     the user
  --name "Full Name"  the name claim ("" for none)
  --email ADDR        the email claim ("" for none)
  --email-verified    mark the email as verified
  --email-unverified  mark the email as not verified
  --json              print the user, as user show --json does
${DB_HELP}`,
  'user set-password': `Usage: authcode user set-password --username NAME --password-stdin [--json]

Replaces the user's password (at least 8 characters) and ends every session of the user.

  --username NAME     the user
  --password-stdin    read the password from standard input (required)
  --json              print the user, as user show --json does
${DB_HELP}`,
  'user disable': `Usage: authcode user disable --username NAME [--json]

At once: the user is signed out everywhere, every grant and token of theirs is revoked (refresh
tokens invalid_grant, introspection inactive, userinfo 401) and their sign-in fails as a wrong
password does, until user enable.

  --username NAME   the user
  --json            print the user, as user show --json does
${DB_HELP}`,
  'user enable': `Usage: authcode user enable --username NAME [--json]

Lets a disabled user sign in again; what disabling revoked stays revoked.

  --username NAME   the user
  --json            print the user, as user show --json does
${DB_HELP}`,
  'user remove': `Usage: authcode user remove --username NAME [--json]

Removes the user and everything of theirs: sessions, consents, grants, codes and tokens.

  --username NAME   the user
  --json            print the removed user, as user show --json does
${DB_HELP}`,
  'user import': `Usage: authcode user import FILE [--json]

Adds the users of FILE, one JSON object per line: {"username", "password_hash", "name",
"email", "email_verified", "id"} (only username and password_hash are required; id becomes the
user's OpenID sub). password_hash is an scrypt hash as this server makes them, a bcrypt hash
($2a$, $2b$, $2y$) or an argon2id PHC string ($argon2id$); the others are replaced by scrypt at
each user's next sign-in. All or nothing: one bad line, or a username taken, and nothing is
added (the line and field are named).

  --json            print {"imported": N, "users": [{"id", "username"}, …]}
${DB_HELP}`,
  'keys list': `Usage: authcode keys list [--json]

  --json            print a JSON array of {"kid", "alg", "state", "created_at", "activates_at",
                    "retired_at", "published_until"}; state is pending, active, superseded,
                    retired or expired
${DB_HELP}`,
  'keys retire': `Usage: authcode keys retire KID [--json]

The key signs nothing from now on (a running server notices within keys.cacheTtl) and stays
published until the tokens it signed have expired, then is removed. The key that signs an
algorithm's tokens can be retired only when another key can sign them at once: rotate first
and wait until the new key signs.

  --json            print the key, as keys list --json does
${DB_HELP}`,
  'admin-token create': `Usage: authcode admin-token create --name NAME [--json]

Makes a bearer token for the admin API, printed once and stored only as a hash. NAME (1 to 64 of
A-Z a-z 0-9 _ . -) names the token in the audit events of the changes made with it.

  --name NAME       the token's name, unique among the tokens not revoked
  --json            print {"id", "name", "created_at", "last_used_at", "revoked_at", "token"}
${DB_HELP}`,
  'admin-token list': `Usage: authcode admin-token list [--json]

  --json            print a JSON array of {"id", "name", "created_at", "last_used_at",
                    "revoked_at"}; never a token
${DB_HELP}`,
  'admin-token revoke': `Usage: authcode admin-token revoke ID_OR_NAME [--json]

  --json            print the revoked token, as admin-token list --json does
${DB_HELP}`,
  'registration-token create': `Usage: authcode registration-token create --name NAME [--expires-in SECONDS] [--json]

Makes an initial access token for dynamic client registration (RFC 7591), printed once and stored
only as a hash. With serve --registration token, a client registers at /register only with one as
Authorization: Bearer. NAME (1 to 64 of A-Z a-z 0-9 _ . -) names it in the audit events.

  --name NAME           the token's name, unique among the tokens not revoked
  --expires-in SECONDS  it registers nothing after this many seconds (at most a year; default:
                        until revoked)
  --json                print {"id", "name", "created_at", "expires_at", "last_used_at",
                        "revoked_at", "token"}
${DB_HELP}`,
  'registration-token list': `Usage: authcode registration-token list [--json]

  --json            print a JSON array of {"id", "name", "created_at", "expires_at",
                    "last_used_at", "revoked_at"}; never a token
${DB_HELP}`,
  'registration-token revoke': `Usage: authcode registration-token revoke ID_OR_NAME [--json]

The token registers nothing from now on; the clients it registered stay (client remove ID).

  --json            print the revoked token, as registration-token list --json does
${DB_HELP}`,
  'keys rotate': `Usage: authcode keys rotate [--json]

  --json            print {"kids": […], "active_from": SECONDS}: the new key ids, and when they
                    start to sign (seconds since the epoch)
${DB_HELP}`,
  'asyncapi check': `Usage: authcode asyncapi check FILE [--json]

Reads an AsyncAPI 2.x or 3.x document (YAML or JSON, $refs resolved), validates it against the
official schema of its version, and prints its oauth2 authorization code flows, their scopes, the
scopes each operation requires, and every problem with its JSON pointer. Exit 1 when the document
is invalid or cannot be read, else 0.

  --json            print the result as JSON
  -h, --help        show this help`,
  migrate: `Usage: authcode migrate [--json]

  --json            print {"applied": […]}: the migrations applied, empty when up to date
${DB_HELP}`,
}

const COMMON_OPTIONS = {
  db: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

/** `node:util` parseArgs, strict: unknown flags are errors. */
function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals })
  } catch (error) {
    // node's messages name the flag ("Unknown option '--x'"); keep them, drop the error code.
    // One line: node's messages may take several (an option argument that starts with a dash).
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' '))
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin: pipe the password in, e.g. printf %s "$PASSWORD" | authcode user add …')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function config(flags: ConfigFlags) {
  return loadConfig(flags, process.env, process.cwd())
}

/** The server package's version, read from its package.json beside the built code (`dist/cli/` → the package). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  if (typeof manifest.version !== 'string') throw new CommandError('the package.json of @authcode/server has no version')
  return manifest.version
}

async function run(argv: string[], io: Io): Promise<void> {
  const [first, second] = argv
  const command = first === 'client' || first === 'user' || first === 'keys' || first === 'asyncapi' || first === 'admin-token' || first === 'registration-token' ? `${first} ${second ?? ''}`.trim() : first
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP.main ?? '')
    return
  }
  if (command === '--version' || command === '-v') {
    if (argv.length > 1) throw new UsageError(`${command} takes no arguments`)
    io.out(packageVersion())
    return
  }
  const help = HELP[command]
  if (help === undefined) throw new UsageError(`unknown command: ${command}`)
  const rest = argv.slice(command.split(' ').length)
  const usage = (values: { help?: boolean }) => {
    if (values.help === true) io.out(help)
    return values.help === true
  }

  switch (command) {
    case 'serve': {
      const { values } = parse(rest, {
        port: { type: 'string' },
        host: { type: 'string' },
        issuer: { type: 'string' },
        demo: { type: 'boolean' },
        'trust-proxy': { type: 'string' },
        'metrics-port': { type: 'string' },
        'admin-port': { type: 'string' },
        registration: { type: 'string' },
        ...ASYNCAPI_OPTIONS,
      })
      if (usage(values)) return
      const flags = flagsWithAsyncApi(values)
      if (values.registration !== undefined) {
        if (!(REGISTRATION_MODES as readonly string[]).includes(values.registration)) throw new UsageError(`--registration: ${oneOf(REGISTRATION_MODES)}`)
        flags.registration = values.registration as RegistrationMode
      }
      // Loaded only here: the admin commands need no HTTP server.
      const { serve } = await import('./serve.js')
      return serve(config(flags), { demo: values.demo === true, out: io.out, env: process.env })
    }
    case 'client add': {
      const { values } = parse(rest, {
        name: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        scope: { type: 'string' },
        public: { type: 'boolean' },
        'id-token-alg': { type: 'string' },
        'first-party': { type: 'boolean' },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        'backchannel-logout-uri': { type: 'string' },
        'auth-method': { type: 'string' },
        jwks: { type: 'string' },
        'jwks-uri': { type: 'string' },
        'require-par': { type: 'boolean' },
        'require-dpop': { type: 'boolean' },
        'web-origin': { type: 'string', multiple: true },
        json: { type: 'boolean' },
        ...ASYNCAPI_OPTIONS,
      })
      if (usage(values)) return
      if (values.name === undefined) throw new UsageError('--name is required')
      if (values.asyncapi !== undefined && values.scope !== undefined) throw new UsageError('--scope and --asyncapi exclude each other (the document names the scopes)')
      if (values['redirect-uri'] === undefined) throw new UsageError('--redirect-uri is required')
      const alg = values['id-token-alg']
      if (alg !== undefined && !(ID_TOKEN_ALGS as readonly string[]).includes(alg)) throw new UsageError(`--id-token-alg: ${oneOf(ID_TOKEN_ALGS)}`)
      const authMethod = values['auth-method'] ?? (values.public === true ? 'none' : 'client_secret_basic')
      if (!(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(authMethod)) throw new UsageError(`--auth-method: ${oneOf(TOKEN_ENDPOINT_AUTH_METHODS)}`)
      if (values.public === true && authMethod !== 'none') throw new UsageError('--public is --auth-method none')
      const serverConfig = config(flagsWithAsyncApi(values))
      return clientAdd(
        serverConfig,
        {
          name: values.name,
          redirectUris: values['redirect-uri'],
          // With a document, the server's scopes are exactly the document's (plus openid).
          scope: values.asyncapi === undefined ? (values.scope ?? 'openid profile email') : Object.keys(serverConfig.scopes).join(' '),
          isPublic: values.public === true,
          idTokenAlg: alg as IdTokenAlg | undefined,
          firstParty: values['first-party'] === true,
          postLogoutRedirectUris: values['post-logout-redirect-uri'],
          backchannelLogoutUri: values['backchannel-logout-uri'],
          authMethod: authMethod as TokenEndpointAuthMethod,
          ...(values.jwks === undefined ? {} : { jwks: readJwksFile(values.jwks) }),
          ...(values['jwks-uri'] === undefined ? {} : { jwksUri: values['jwks-uri'] }),
          requirePar: values['require-par'] === true,
          requireDpop: values['require-dpop'] === true,
          ...(values['web-origin'] === undefined ? {} : { webOrigins: values['web-origin'] }),
          json: values.json === true,
        },
        io,
      )
    }
    case 'client list': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      if (usage(values)) return
      return clientList(config(configFlags(values)), values.json === true, io)
    }
    case 'client remove':
    case 'client show': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, true)
      if (usage(values)) return
      const clientId = oneClientId(positionals)
      const action = command === 'client show' ? clientShow : clientRemove
      return action(config(configFlags(values)), clientId, values.json === true, io)
    }
    case 'client update': {
      const { values, positionals } = parse(
        rest,
        {
          name: { type: 'string' },
          'redirect-uri': { type: 'string', multiple: true },
          scope: { type: 'string' },
          'post-logout-redirect-uri': { type: 'string', multiple: true },
          'no-post-logout-redirect-uris': { type: 'boolean' },
          'web-origin': { type: 'string', multiple: true },
          'no-web-origins': { type: 'boolean' },
          json: { type: 'boolean' },
        },
        true,
      )
      if (usage(values)) return
      const clientId = oneClientId(positionals)
      const postLogout = values['post-logout-redirect-uri']
      if (postLogout !== undefined && values['no-post-logout-redirect-uris'] === true) {
        throw new UsageError('--post-logout-redirect-uri and --no-post-logout-redirect-uris exclude each other')
      }
      const webOrigins = values['web-origin']
      if (webOrigins !== undefined && values['no-web-origins'] === true) throw new UsageError('--web-origin and --no-web-origins exclude each other')
      const update: ClientUpdate = {}
      if (values.name !== undefined) update.client_name = values.name
      if (values['redirect-uri'] !== undefined) update.redirect_uris = values['redirect-uri']
      if (values.scope !== undefined) update.scope = values.scope
      if (postLogout !== undefined) update.post_logout_redirect_uris = postLogout
      if (values['no-post-logout-redirect-uris'] === true) update.post_logout_redirect_uris = []
      if (webOrigins !== undefined) update.web_origins = webOrigins
      if (values['no-web-origins'] === true) update.web_origins = []
      if (Object.keys(update).length === 0) throw new UsageError('nothing to change: give --name, --redirect-uri, --scope, --post-logout-redirect-uri or --web-origin')
      return clientUpdate(config(configFlags(values)), clientId, update, values.json === true, io)
    }
    case 'client rotate-secret': {
      const { values, positionals } = parse(rest, { grace: { type: 'string' }, json: { type: 'boolean' } }, true)
      if (usage(values)) return
      const clientId = oneClientId(positionals)
      const grace = values.grace === undefined ? undefined : seconds('--grace', values.grace)
      return clientRotateSecret(config(configFlags(values)), clientId, grace, values.json === true, io)
    }
    case 'user add': {
      const { values } = parse(rest, {
        username: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        name: { type: 'string' },
        email: { type: 'string' },
        'email-verified': { type: 'boolean' },
        json: { type: 'boolean' },
      })
      if (usage(values)) return
      if (values.username === undefined) throw new UsageError('--username is required')
      if (values['password-stdin'] !== true) throw new UsageError('--password-stdin is required (passwords are never taken as arguments)')
      return userAdd(
        config(configFlags(values)),
        { username: values.username, name: values.name, email: values.email, emailVerified: values['email-verified'] === true, json: values.json === true },
        io,
      )
    }
    case 'user list': {
      const { values } = parse(rest, { after: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } })
      if (usage(values)) return
      const page: { after?: string; limit?: number } = {}
      if (values.after !== undefined) page.after = values.after
      if (values.limit !== undefined) {
        if (!/^\d{1,4}$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 1000) throw new UsageError(`--limit: a number from 1 to 1000: ${values.limit}`)
        page.limit = Number(values.limit)
      }
      return userList(config(configFlags(values)), page, values.json === true, io)
    }
    case 'user show':
    case 'user disable':
    case 'user enable':
    case 'user remove': {
      const { values } = parse(rest, { username: { type: 'string' }, json: { type: 'boolean' } })
      if (usage(values)) return
      if (values.username === undefined) throw new UsageError('--username is required')
      const serverConfig = config(configFlags(values))
      if (command === 'user show') return userShow(serverConfig, values.username, values.json === true, io)
      const kind = command === 'user disable' ? 'disable' : command === 'user enable' ? 'enable' : 'remove'
      return userChange(serverConfig, values.username, { kind }, values.json === true, io)
    }
    case 'user set-password': {
      const { values } = parse(rest, { username: { type: 'string' }, 'password-stdin': { type: 'boolean' }, json: { type: 'boolean' } })
      if (usage(values)) return
      if (values.username === undefined) throw new UsageError('--username is required')
      if (values['password-stdin'] !== true) throw new UsageError('--password-stdin is required (passwords are never taken as arguments)')
      return userChange(config(configFlags(values)), values.username, { kind: 'set-password' }, values.json === true, io)
    }
    case 'user update': {
      const { values } = parse(rest, {
        username: { type: 'string' },
        name: { type: 'string' },
        email: { type: 'string' },
        'email-verified': { type: 'boolean' },
        'email-unverified': { type: 'boolean' },
        json: { type: 'boolean' },
      })
      if (usage(values)) return
      if (values.username === undefined) throw new UsageError('--username is required')
      if (values['email-verified'] === true && values['email-unverified'] === true) throw new UsageError('--email-verified and --email-unverified exclude each other')
      const update: UserUpdate = {}
      if (values.name !== undefined) update.name = values.name
      if (values.email !== undefined) update.email = values.email
      if (values['email-verified'] === true) update.email_verified = true
      if (values['email-unverified'] === true) update.email_verified = false
      if (Object.keys(update).length === 0) throw new UsageError('nothing to change: give --name, --email, --email-verified or --email-unverified')
      return userChange(config(configFlags(values)), values.username, { kind: 'update', update }, values.json === true, io)
    }
    case 'user import': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, true)
      if (usage(values)) return
      if (positionals.length !== 1) throw new UsageError('give exactly one file of users (JSON lines)')
      return userImport(config(configFlags(values)), positionals[0] ?? '', values.json === true, io)
    }
    case 'keys list':
    case 'keys rotate': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      if (usage(values)) return
      return (command === 'keys list' ? keysList : keysRotate)(config(configFlags(values)), values.json === true, io)
    }
    case 'keys retire': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, true)
      if (usage(values)) return
      if (positionals.length !== 1) throw new UsageError('give exactly one key id (kid)')
      return keysRetire(config(configFlags(values)), positionals[0] ?? '', values.json === true, io)
    }
    case 'admin-token create': {
      const { values } = parse(rest, { name: { type: 'string' }, json: { type: 'boolean' } })
      if (usage(values)) return
      if (values.name === undefined) throw new UsageError('--name is required')
      return adminTokenCreate(config(configFlags(values)), values.name, values.json === true, io)
    }
    case 'admin-token list': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      if (usage(values)) return
      return adminTokenList(config(configFlags(values)), values.json === true, io)
    }
    case 'admin-token revoke': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, true)
      if (usage(values)) return
      if (positionals.length !== 1) throw new UsageError('give exactly one admin token id or name')
      return adminTokenRevoke(config(configFlags(values)), positionals[0] ?? '', values.json === true, io)
    }
    case 'registration-token create': {
      const { values } = parse(rest, { name: { type: 'string' }, 'expires-in': { type: 'string' }, json: { type: 'boolean' } })
      if (usage(values)) return
      if (values.name === undefined) throw new UsageError('--name is required')
      const expiresIn = values['expires-in'] === undefined ? undefined : seconds('--expires-in', values['expires-in'])
      return registrationTokenCreate(config(configFlags(values)), values.name, expiresIn, values.json === true, io)
    }
    case 'registration-token list': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      if (usage(values)) return
      return registrationTokenList(config(configFlags(values)), values.json === true, io)
    }
    case 'registration-token revoke': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, true)
      if (usage(values)) return
      if (positionals.length !== 1) throw new UsageError('give exactly one registration token id or name')
      return registrationTokenRevoke(config(configFlags(values)), positionals[0] ?? '', values.json === true, io)
    }
    case 'asyncapi check': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, true)
      if (usage(values)) return
      if (positionals.length !== 1) throw new UsageError('give exactly one AsyncAPI document')
      const { asyncapiCheck } = await import('./asyncapi.js')
      process.exitCode = await asyncapiCheck(positionals[0] ?? '', values.json === true, io)
      return
    }
    case 'migrate': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      if (usage(values)) return
      return migrate(config(configFlags(values)), values.json === true, io)
    }
  }
}

/** The one client id a command takes. */
function oneClientId(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('give exactly one client id')
  return positionals[0] ?? ''
}

/** A whole number of seconds given to `flag`. */
function seconds(flag: string, value: string): number {
  if (!/^\d{1,10}$/.test(value)) throw new UsageError(`${flag}: a whole number of seconds: ${value}`)
  return Number(value)
}

run(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readStdin,
}).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`authcode: ${error.message} (run 'authcode --help' for usage)\n`)
    process.exit(2)
  }
  process.stderr.write(`authcode: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
