/**
 * `authcode`: the command-line interface of the authorization server.
 * Errors are one line on stderr (exit 1; exit 2 for a wrong call, with a pointer to the usage);
 * never a stack trace. Every `--json` prints one JSON value, its names in snake_case.
 */
import { readFileSync } from 'node:fs'
import { loadConfig, type ConfigFlags } from '../config/load.js'
import type { IdTokenAlg } from '../protocol/store.js'
import { DEFAULT_ID_TOKEN_ALG, ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { clientAdd, clientList, clientRemove, keysRotate, migrate, userAdd, type Io } from './admin.js'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CommandError, configFlags, UsageError } from './args.js'

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
  user add          add a user (password on standard input)
  keys rotate       publish new signing keys; they sign after keys.activationDelay
  migrate           bring the database schema up to date
  asyncapi check F  the oauth2 flows, scopes and per-operation scopes of an AsyncAPI document

Run 'authcode <command> --help' for a command's options; 'authcode --version' for the version.

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
  --issuer URL      issuer identifier (default http://localhost:PORT); env AUTHCODE_ISSUER
  --demo            create a demo user and a demo client when absent, and print the demo login
  --trust-proxy P   the proxies in front, whose X-Forwarded-For entries are believed: their number
                    (e.g. 1) or their addresses and CIDR ranges, comma-separated (e.g.
                    10.0.0.1,fd00::/8); the caller is the right-most entry they did not write.
                    Default: none (the header is ignored); env AUTHCODE_TRUST_PROXY
${ASYNCAPI_HELP}
${DB_HELP}`,
  'client add': `Usage: authcode client add --name NAME --redirect-uri URI [--redirect-uri URI…] [options]

  --name NAME             the name users see on the consent page
  --redirect-uri URI      a redirect URI, compared by exact string (repeatable)
  --scope "a b"           scopes the client may request (default "openid profile email")
  --asyncapi FILE         allow exactly the scopes of the document's oauth2 scheme, plus openid
  --scheme NAME           the scheme to use when the document has several
  --public                a public client (no secret; PKCE; native apps may vary loopback ports)
  --id-token-alg ALG      ${oneOf(ID_TOKEN_ALGS.map((alg) => (alg === DEFAULT_ID_TOKEN_ALG ? `${alg} (default)` : alg)))}
  --first-party           consent may be skipped (config consent.skipForFirstParty)
  --json                  print {"client_id": …, "client_secret": …}
${DB_HELP}`,
  'client list': `Usage: authcode client list [--json]

  --json            print a JSON array of {"client_id", "client_name", "public", "redirect_uris",
                    "scopes", "grant_types", "id_token_signed_response_alg", "pkce_optional",
                    "first_party", "created_at"}; never a secret
${DB_HELP}`,
  'client remove': `Usage: authcode client remove CLIENT_ID

${DB_HELP}`,
  'user add': `Usage: authcode user add --username NAME --password-stdin [options]

  --username NAME     the login name
  --password-stdin    read the password from standard input (required)
  --name "Full Name"  the name claim
  --email ADDR        the email claim
  --email-verified    mark the email as verified
  --json              print {"user_id": …, "username": …}; user_id is the user's OpenID sub
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
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
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
  const command = first === 'client' || first === 'user' || first === 'keys' || first === 'asyncapi' ? `${first} ${second ?? ''}`.trim() : first
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
        ...ASYNCAPI_OPTIONS,
      })
      if (usage(values)) return
      // Loaded only here: the admin commands need no HTTP server.
      const { serve } = await import('./serve.js')
      return serve(config(flagsWithAsyncApi(values)), { demo: values.demo === true, out: io.out, env: process.env })
    }
    case 'client add': {
      const { values } = parse(rest, {
        name: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        scope: { type: 'string' },
        public: { type: 'boolean' },
        'id-token-alg': { type: 'string' },
        'first-party': { type: 'boolean' },
        json: { type: 'boolean' },
        ...ASYNCAPI_OPTIONS,
      })
      if (usage(values)) return
      if (values.name === undefined) throw new UsageError('--name is required')
      if (values.asyncapi !== undefined && values.scope !== undefined) throw new UsageError('--scope and --asyncapi exclude each other (the document names the scopes)')
      if (values['redirect-uri'] === undefined) throw new UsageError('--redirect-uri is required')
      const alg = values['id-token-alg']
      if (alg !== undefined && !(ID_TOKEN_ALGS as readonly string[]).includes(alg)) throw new UsageError(`--id-token-alg: ${oneOf(ID_TOKEN_ALGS)}`)
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
    case 'client remove': {
      const { values, positionals } = parse(rest, {}, true)
      if (usage(values)) return
      if (positionals.length !== 1) throw new UsageError('give exactly one client id')
      return clientRemove(config(configFlags(values)), positionals[0] ?? '', io)
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
    case 'keys rotate': {
      const { values } = parse(rest, { json: { type: 'boolean' } })
      if (usage(values)) return
      return keysRotate(config(configFlags(values)), values.json === true, io)
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

run(process.argv.slice(2), { out: (line) => process.stdout.write(`${line}\n`), readStdin }).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`authcode: ${error.message} (run 'authcode --help' for usage)\n`)
    process.exit(2)
  }
  process.stderr.write(`authcode: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
