/**
 * The embedded backend's store: `SqlStore` with the reads and writes on every login's path (the
 * authorization endpoint with a session, the token endpoint) run as prepared better-sqlite3
 * statements instead of through kysely's query builder.
 *
 * The benchmark's profile of a code exchange put most of its main-thread time in building,
 * compiling and running queries through kysely (nine statements and two round trips of a
 * transaction per exchange); here each statement compiled once by `SqlStore` (`queries.ts`) is
 * also prepared once. Every call takes the kysely driver's connection lock first, so it never lands inside
 * a transaction kysely has open on the same connection. The shared store suite runs against this class.
 *
 * Group commit: most of a write's cost is its COMMIT, which appends every page it touched to the
 * WAL (about a dozen per code exchange: the code, two token rows and their indexes). The atomic
 * writes that arrive within one turn of the event loop therefore commit together, in one
 * transaction, and each caller hears its result only once the shared COMMIT has succeeded. A write
 * that loses its race changes nothing (its conditional UPDATE matches no row). A write that fails
 * (a constraint, I/O) rolls the whole group back, and then each write of the group runs again in a
 * transaction of its own, so only the failing one fails. Savepoints per write would do the same
 * without the second pass, but every page a savepoint touches is first copied to a sub-journal,
 * which cost a tenth of the event loop's time in the benchmark; failures are rare, races are not.
 */
import type SQLite from 'better-sqlite3'
import type { Kysely } from 'kysely'
import type {
  AccessTokenRecord,
  ClientRecord,
  CodeRecord,
  ConsentRecord,
  GrantRecord,
  IssuedTokens,
  LoginSessionRecord,
  RefreshTokenRecord,
  UserRecord,
  WithGrant,
} from '../protocol/store.js'
import type { Database } from './database.js'
import * as queries from './queries.js'
import {
  codeRow,
  grantRow,
  toAccessToken,
  toClient,
  toCode,
  toConsent,
  toGrant,
  toLoginSession,
  toRefreshToken,
  toUser,
  type Row,
} from './rows.js'
import { spendThenIssue } from './spend-then-issue.js'
import { SqlStore, unique } from './sql-store.js'

/** A query compiled once and prepared once; `run` and `get` take its builder's arguments. */
class Prepared {
  readonly #statement: SQLite.Statement
  readonly #argumentOf: number[]
  /** Column names of a statement that returns rows, in order, and the table of each. */
  readonly #columns: string[]
  readonly #tables: string[]

  constructor(database: SQLite.Database, { sql, argumentOf }: queries.CompiledTemplate) {
    this.#statement = database.prepare(sql)
    this.#argumentOf = argumentOf
    // Rows come back as arrays and become objects here: better-sqlite3 sets each property through
    // V8's C++ API, which cost a third of a lookup in the profile of a code exchange.
    const columns = this.#statement.reader ? this.#statement.raw(true).columns() : []
    this.#columns = columns.map((column) => column.name)
    this.#tables = columns.map((column) => column.table ?? '')
  }

  get<R>(...args: unknown[]): R | undefined {
    const values = this.#statement.get(...this.#argumentOf.map((i) => args[i])) as unknown[] | undefined
    if (values === undefined) return undefined
    const row: Record<string, unknown> = {}
    for (let i = 0; i < values.length; i++) row[this.#columns[i] as string] = values[i]
    return row as R
  }

  /** For a join: one row object per table, keyed by table name. */
  getPerTable(...args: unknown[]): Record<string, Record<string, unknown>> | undefined {
    const values = this.#statement.get(...this.#argumentOf.map((i) => args[i])) as unknown[] | undefined
    if (values === undefined) return undefined
    const rows: Record<string, Record<string, unknown>> = {}
    for (let i = 0; i < values.length; i++) (rows[this.#tables[i] as string] ??= {})[this.#columns[i] as string] = values[i]
    return rows
  }

  run(...args: unknown[]): void {
    this.#statement.run(...this.#argumentOf.map((i) => args[i]))
  }
}

/** A write waiting for the next group commit. */
interface PendingWrite {
  step: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  /** When it was queued (ms): a write that cannot get the writer lock for `busyTimeoutMs` fails. */
  queuedAt: number
}

/** Each write's result or error, in order; or 'busy': nothing ran, another connection holds the writer lock. */
type GroupOutcome = { ok: boolean; value: unknown }[] | 'busy'

/** The one better-sqlite3 connection under kysely, and the driver's lock on it. */
export interface SqliteConnection {
  database: SQLite.Database
  exclusive<T>(step: () => T): Promise<T>
  /** The connection's `busy_timeout`: how long a statement waits for a lock another connection holds. */
  busyTimeoutMs: number
}

/** How soon a group commit that found the writer lock taken tries again. */
const BUSY_RETRY_MS = 2

const isBusy = (error: unknown): boolean => String((error as { code?: unknown } | null)?.code).startsWith('SQLITE_BUSY')

export class SqliteStore extends SqlStore {
  readonly #exclusive: SqliteConnection['exclusive']
  readonly #clientById: Prepared
  readonly #userById: Prepared
  readonly #grantById: Prepared
  readonly #codeByHash: Prepared
  readonly #codeWithGrantByHash: Prepared
  readonly #refreshTokenByHash: Prepared
  readonly #refreshTokenWithGrantByHash: Prepared
  readonly #accessTokenByJti: Prepared
  readonly #liveLoginSession: Prepared
  readonly #consentOf: Prepared
  readonly #createGrantWithCode: (grant: GrantRecord, code: CodeRecord) => void
  readonly #redeemCode: (codeHash: string, now: number, tokens: IssuedTokens) => boolean
  readonly #rotateRefreshToken: (tokenHash: string, now: number, tokens: IssuedTokens) => boolean
  /** Every write of a group in one transaction; throws (and rolls back) if any of them throws. */
  readonly #commitTogether: (writes: PendingWrite[]) => unknown[]
  /** One write in a transaction of its own. */
  readonly #commitAlone: (write: PendingWrite) => unknown
  /** `busy_timeout` off (statements fail at once with SQLITE_BUSY) and back on. */
  readonly #waitForLocks: (wait: boolean) => void
  readonly #busyTimeoutMs: number
  #pending: PendingWrite[] = []
  #retry: NodeJS.Timeout | undefined

  /** `db` is kysely over `connection`, migrated to the latest schema; the store owns both from now on. */
  constructor(db: Kysely<Database>, { database, exclusive, busyTimeoutMs }: SqliteConnection) {
    super(db)
    this.#exclusive = exclusive
    this.#busyTimeoutMs = busyTimeoutMs
    // Not a statement prepared once: SQLite applies this pragma when it compiles it, not when it runs.
    this.#waitForLocks = (yes) => void database.pragma(`busy_timeout = ${yes ? busyTimeoutMs : 0}`, { simple: true })
    const prepare = (template: queries.CompiledTemplate) => new Prepared(database, template)
    const { hot } = this
    this.#clientById = prepare(hot.clientById)
    this.#userById = prepare(hot.userById)
    this.#grantById = prepare(hot.grantById)
    this.#codeByHash = prepare(hot.codeByHash)
    this.#codeWithGrantByHash = prepare(queries.compileTemplate(db, queries.codeWithGrantByHash, 1))
    this.#refreshTokenByHash = prepare(hot.refreshTokenByHash)
    this.#refreshTokenWithGrantByHash = prepare(queries.compileTemplate(db, queries.refreshTokenWithGrantByHash, 1))
    this.#accessTokenByJti = prepare(hot.accessTokenByJti)
    this.#liveLoginSession = prepare(hot.liveLoginSession)
    this.#consentOf = prepare(hot.consentOf)

    const insertGrant = prepare(hot.insertGrant)
    const insertCode = prepare(hot.insertCode)
    // The writes below are plain steps, atomic only inside a transaction: #commitTogether's or #commitAlone's.
    this.#createGrantWithCode = (grant: GrantRecord, code: CodeRecord) => {
      insertGrant.run(...Object.values(grantRow(grant)))
      insertCode.run(...Object.values(codeRow(code)))
    }

    const insertAccessToken = prepare(hot.insertAccessToken)
    const insertRefreshToken = prepare(hot.insertRefreshToken)
    // The spend-then-issue rule (`spend-then-issue.ts`), its statements run at once, in order.
    const spendAndIssue = (spend: Prepared) => {
      const statements = { spend, insertAccessToken, insertRefreshToken }
      return (hash: string, now: number, tokens: IssuedTokens): boolean => {
        const steps = spendThenIssue(statements, hash, now, tokens)
        let step = steps.next()
        while (!step.done) {
          const { kind, statement, args } = step.value
          step = steps.next(kind === 'spend' ? statement.get(...args) !== undefined : (statement.run(...args), true))
        }
        return step.value
      }
    }
    this.#redeemCode = spendAndIssue(prepare(hot.consumeCode))
    this.#rotateRefreshToken = spendAndIssue(prepare(hot.rotateRefreshToken))
    // BEGIN IMMEDIATE: the writer lock is taken first, so a group that cannot have it has run nothing.
    const commitTogether = database.transaction((writes: PendingWrite[]) => writes.map(({ step }) => step()))
    this.#commitTogether = (writes) => commitTogether.immediate(writes)
    const commitAlone = database.transaction(({ step }: PendingWrite) => step())
    this.#commitAlone = (write) => commitAlone.immediate(write)
  }

  /** Queues `step` (a write of the group) for the group commit at the end of this event-loop turn. */
  #write<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ step, resolve: resolve as (value: unknown) => void, reject, queuedAt: Date.now() })
      if (this.#pending.length === 1 && this.#retry === undefined) setImmediate(() => void this.#commitPending())
    })
  }

  async #commitPending(): Promise<void> {
    const writes = this.#pending
    this.#pending = []
    let outcomes: GroupOutcome
    try {
      outcomes = await this.#exclusive(() => this.#commitGroup(writes))
    } catch (error) {
      // The connection could not be had (the store is closing): every caller hears it.
      for (const write of writes) write.reject(error)
      return
    }
    if (outcomes === 'busy') {
      // Another connection (the checkpoint worker, a CLI command) holds the writer lock: try again
      // shortly, with whatever was queued meanwhile, instead of blocking the event loop on it.
      this.#pending = [...writes, ...this.#pending]
      this.#retry = setTimeout(() => {
        this.#retry = undefined
        void this.#commitPending()
      }, BUSY_RETRY_MS)
      return
    }
    outcomes.forEach((outcome, i) => (outcome.ok ? writes[i]?.resolve(outcome.value) : writes[i]?.reject(outcome.value)))
  }

  #commitGroup(writes: PendingWrite[]): GroupOutcome {
    this.#waitForLocks(false)
    try {
      return this.#commitTogether(writes).map((value) => ({ ok: true, value }))
    } catch (error) {
      // Nothing of the group was written.
      if (isBusy(error)) {
        if (Date.now() - (writes[0]?.queuedAt ?? 0) < this.#busyTimeoutMs) return 'busy'
        return writes.map(() => ({ ok: false, value: error })) // 503 temporarily_unavailable
      }
      // Alone, each write succeeds or fails on its own.
      if (writes.length === 1) return [{ ok: false, value: error }]
      this.#waitForLocks(true)
      return writes.map((write) => {
        try {
          return { ok: true, value: this.#commitAlone(write) }
        } catch (aloneError) {
          return { ok: false, value: aloneError }
        }
      })
    } finally {
      this.#waitForLocks(true)
    }
  }

  override getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#clientById.get<Row<'clients'>>(clientId), toClient))
  }

  override getUserById(id: string): Promise<UserRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#userById.get<Row<'users'>>(id), toUser))
  }

  override getGrant(id: string): Promise<GrantRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#grantById.get<Row<'grants'>>(id), toGrant))
  }

  override getCode(codeHash: string): Promise<CodeRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#codeByHash.get<Row<'authorization_codes'>>(codeHash), toCode))
  }

  override getCodeWithGrant(codeHash: string): Promise<WithGrant<{ code: CodeRecord }> | undefined> {
    return this.#withGrant(this.#codeWithGrantByHash, codeHash, (rows) => ({ code: toCode(rows.authorization_codes as Row<'authorization_codes'>) }))
  }

  override getRefreshTokenWithGrant(tokenHash: string): Promise<WithGrant<{ token: RefreshTokenRecord }> | undefined> {
    return this.#withGrant(this.#refreshTokenWithGrantByHash, tokenHash, (rows) => ({ token: toRefreshToken(rows.refresh_tokens as Row<'refresh_tokens'>) }))
  }

  /** One row of a join with `grants` and `users` (`queries.ts`), as the item `map` makes of it with its grant and user. */
  #withGrant<T extends object>(join: Prepared, hash: string, map: (rows: Record<string, Record<string, unknown>>) => T): Promise<WithGrant<T> | undefined> {
    return this.#exclusive(() =>
      mapRow(join.getPerTable(hash), (rows) => ({ ...map(rows), grant: toGrant(rows.grants as Row<'grants'>), user: toUser(rows.users as Row<'users'>) })),
    )
  }

  override getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#refreshTokenByHash.get<Row<'refresh_tokens'>>(tokenHash), toRefreshToken))
  }

  override getAccessToken(jti: string): Promise<AccessTokenRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#accessTokenByJti.get<Row<'access_tokens'>>(jti), toAccessToken))
  }

  override getLoginSession(idHash: string, now: number): Promise<LoginSessionRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#liveLoginSession.get<Row<'login_sessions'>>(idHash, now), toLoginSession))
  }

  override getConsent(userId: string, clientId: string): Promise<ConsentRecord | undefined> {
    return this.#exclusive(() => mapRow(this.#consentOf.get<Row<'consents'>>(userId, clientId), toConsent))
  }

  override createGrantWithCode(grant: GrantRecord, code: CodeRecord): Promise<void> {
    return unique('grant or authorization code', this.#write(() => this.#createGrantWithCode(grant, code)))
  }

  override redeemCode(codeHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    return unique('issued token', this.#write(() => this.#redeemCode(codeHash, now, tokens)))
  }

  override rotateRefreshToken(tokenHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    return unique('issued token', this.#write(() => this.#rotateRefreshToken(tokenHash, now, tokens)))
  }
}

function mapRow<R, T>(row: R | undefined, map: (row: R) => T): T | undefined {
  return row === undefined ? undefined : map(row)
}
