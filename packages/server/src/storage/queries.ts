/**
 * The queries on every login's path — the authorization endpoint with a login session (session,
 * consent, grant and code) and the token endpoint (client authentication, the code exchange,
 * refresh rotation, introspection, userinfo) — each written once as a kysely builder and compiled
 * once per store (`compileHotQueries`): building and compiling a query on every request cost more
 * than running it. `SqlStore` runs the compiled SQL through kysely's executor (PostgreSQL: as named
 * prepared statements); `SqliteStore` prepares it once with better-sqlite3.
 */
import { CompiledQuery, sql, type Compilable, type Insertable, type Kysely, type QueryCreator } from 'kysely'
import type { Database } from './database.js'

type Db = Kysely<Database>
/** Where a statement can be built: the database, or a `WITH` clause's scope (PostgreSQL's one-statement spend). */
type Scope = QueryCreator<Database>

export const clientById = (db: Db, clientId: string) => db.selectFrom('clients').selectAll().where('client_id', '=', clientId)

export const userById = (db: Db, id: string) => db.selectFrom('users').selectAll().where('id', '=', id)

export const grantById = (db: Db, id: string) => db.selectFrom('grants').selectAll().where('id', '=', id)

export const codeByHash = (db: Db, codeHash: string) =>
  db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash)

export const refreshTokenByHash = (db: Db, tokenHash: string) =>
  db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash)

/** The code, its grant and the grant's user in one row (SQLite: `SqliteStore` splits it by table). */
export const codeWithGrantByHash = (db: Db, codeHash: string) =>
  db
    .selectFrom('authorization_codes')
    .innerJoin('grants', 'grants.id', 'authorization_codes.grant_id')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .selectAll(['authorization_codes', 'grants', 'users'])
    .where('authorization_codes.code_hash', '=', codeHash)

/** The refresh token, its grant and the grant's user in one row, likewise. */
export const refreshTokenWithGrantByHash = (db: Db, tokenHash: string) =>
  db
    .selectFrom('refresh_tokens')
    .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
    .innerJoin('users', 'users.id', 'grants.user_id')
    .selectAll(['refresh_tokens', 'grants', 'users'])
    .where('refresh_tokens.token_hash', '=', tokenHash)

export const accessTokenByJti = (db: Db, jti: string) => db.selectFrom('access_tokens').selectAll().where('jti', '=', jti)

/** A session counts only while its user is not disabled (disabling deletes them too; this closes the race with a sign-in). */
export const liveLoginSession = (db: Db, idHash: string, now: number) =>
  db
    .selectFrom('login_sessions')
    .selectAll()
    .where('id_hash', '=', idHash)
    .where('expires_at', '>', now)
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('users').select('users.id').whereRef('users.id', '=', 'login_sessions.user_id').where('users.disabled_at', 'is', null)),
    )

export const consentOf = (db: Db, userId: string, clientId: string) =>
  db.selectFrom('consents').selectAll().where('user_id', '=', userId).where('client_id', '=', clientId)

/** The single-use rule's one statement: whoever's UPDATE matches has redeemed the code. */
export const consumeCode = (db: Scope, codeHash: string, now: number) =>
  db
    .updateTable('authorization_codes')
    .set({ consumed_at: now })
    .where('code_hash', '=', codeHash)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('grants')
          .select('grants.id')
          .whereRef('grants.id', '=', 'authorization_codes.grant_id')
          .where('grants.revoked_at', 'is', null),
      ),
    )
    .returning('code_hash')

/** The rotation rule's one statement: whoever's UPDATE matches has rotated the token. */
export const rotateRefreshToken = (db: Scope, tokenHash: string, now: number) =>
  db
    .updateTable('refresh_tokens')
    .set({ rotated_at: now })
    .where('token_hash', '=', tokenHash)
    .where('rotated_at', 'is', null)
    .where('expires_at', '>', now)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('grants')
          .select('grants.id')
          .whereRef('grants.id', '=', 'refresh_tokens.grant_id')
          .where('grants.revoked_at', 'is', null),
      ),
    )
    .returning('token_hash')

export const insertGrant = (db: Db, row: Insertable<Database['grants']>) => db.insertInto('grants').values(row)

export const insertCode = (db: Db, row: Insertable<Database['authorization_codes']>) => db.insertInto('authorization_codes').values(row)

export const insertAccessToken = (db: Db, row: Insertable<Database['access_tokens']>) => db.insertInto('access_tokens').values(row)

export const insertRefreshToken = (db: Db, row: Insertable<Database['refresh_tokens']>) => db.insertInto('refresh_tokens').values(row)

/**
 * PostgreSQL: a code or refresh token with its grant and the grant's user in one row of three JSON
 * objects, one per table (`to_jsonb` keeps each table's column names apart, where a plain join's
 * row would let `grants.id` and `users.id` collide) — the shape SQLite's per-table split gives.
 */
const withGrantAndUser = (db: Db, table: 'authorization_codes' | 'refresh_tokens', hashColumn: 'code_hash' | 'token_hash', hash: string) =>
  db
    .selectFrom(table)
    .innerJoin('grants', 'grants.id', `${table}.grant_id`)
    .innerJoin('users', 'users.id', 'grants.user_id')
    .select([
      sql<Record<string, unknown>>`to_jsonb(${sql.table(table)})`.as(table),
      sql<Record<string, unknown>>`to_jsonb(grants)`.as('grants'),
      sql<Record<string, unknown>>`to_jsonb(users)`.as('users'),
    ])
    .where(sql.ref(`${table}.${hashColumn}`), '=', hash)

export const codeWithGrantByHashAsJson = (db: Db, codeHash: string) => withGrantAndUser(db, 'authorization_codes', 'code_hash', codeHash)

export const refreshTokenWithGrantByHashAsJson = (db: Db, tokenHash: string) => withGrantAndUser(db, 'refresh_tokens', 'token_hash', tokenHash)

/**
 * PostgreSQL: the spend-then-issue rule (`spend-then-issue.ts`) as one statement. The spend is a
 * data-modifying `WITH`; each insert selects its row from the spend's `RETURNING`, so it inserts
 * nothing unless the spend matched, and an insert that fails (a jti already taken) fails the whole
 * statement, spend included. The answer is one row: `spent`, 1 or 0.
 * Its arguments are `[hash, now, ...access token row, ...refresh token row]` (each in its
 * mapper's key order); `refreshToken: false` leaves the refresh token out.
 */
export function compileSpendThenIssue(
  db: Db,
  spend: (scope: Scope, hash: string, now: number) => ReturnType<typeof consumeCode> | ReturnType<typeof rotateRefreshToken>,
  samples: Pick<SampleRows, 'accessToken' | 'refreshToken'>,
  { refreshToken }: { refreshToken: boolean },
): CompiledTemplate {
  const accessColumns = Object.keys(samples.accessToken) as (keyof SampleRows['accessToken'])[]
  const refreshColumns = refreshToken ? (Object.keys(samples.refreshToken) as (keyof SampleRows['refreshToken'])[]) : []
  const arity = 2 + accessColumns.length + refreshColumns.length
  return compileTemplate(
    db,
    (db, hash: unknown, now: unknown, ...values: unknown[]) => {
      const row = (columns: readonly string[], offset: number) => columns.map((column, i) => sql`${values[offset + i]}`.as(column))
      let statement = db
        .with('spent', (scope) => spend(scope, hash as string, now as number))
        .with('issued_access_token', (scope) =>
          scope.insertInto('access_tokens').columns(accessColumns).expression(scope.selectFrom('spent').select(row(accessColumns, 0))),
        )
      if (refreshColumns.length > 0) {
        statement = statement.with('issued_refresh_token', (scope) =>
          scope.insertInto('refresh_tokens').columns(refreshColumns).expression(scope.selectFrom('spent').select(row(refreshColumns, accessColumns.length))),
        ) as unknown as typeof statement
      }
      return statement.selectFrom('spent').select((eb) => eb.fn.countAll<number>().as('spent'))
    },
    arity,
  )
}

/**
 * PostgreSQL: a grant and its authorization code in one statement (the grant inserted by a `WITH`;
 * the code's foreign key is checked at the statement's end, when both rows exist), so either both
 * are written or neither. Its arguments are the grant row's values, then the code row's.
 */
export function compileGrantWithCode(db: Db, samples: Pick<SampleRows, 'grant' | 'code'>): CompiledTemplate {
  const grantColumns = Object.keys(samples.grant)
  const codeColumns = Object.keys(samples.code)
  const row = (columns: readonly string[], values: readonly unknown[], offset: number) =>
    Object.fromEntries(columns.map((column, i) => [column, values[offset + i]]))
  return compileTemplate(
    db,
    (db, ...values: unknown[]) =>
      db
        .with('issued_grant', (scope) => scope.insertInto('grants').values(row(grantColumns, values, 0) as Insertable<Database['grants']>))
        .insertInto('authorization_codes')
        .values(row(codeColumns, values, grantColumns.length) as Insertable<Database['authorization_codes']>),
    grantColumns.length + codeColumns.length,
  )
}

/** A query's SQL text and, for each of its parameters, which argument of its builder it is. */
export interface CompiledTemplate {
  sql: string
  argumentOf: number[]
}

/**
 * Compiles `build(db, ...args)` once with a marker in place of each argument, so the SQL can be
 * prepared once and run with the arguments in `argumentOf` order.
 *
 * @throws Error when a parameter of the compiled query is none of the arguments (a constant value
 *   in the builder would be frozen into every run).
 */
export function compileTemplate<A extends unknown[]>(db: Db, build: (db: Db, ...args: A) => Compilable, arity: A['length']): CompiledTemplate {
  const markers = Array.from({ length: arity }, (_, i) => `\u0000argument ${i}\u0000`)
  const { sql, parameters } = build(db, ...(markers as unknown as A)).compile()
  const argumentOf = parameters.map((parameter) => markers.indexOf(parameter as string))
  if (argumentOf.includes(-1)) throw new Error(`a parameter of "${sql}" is not one of its builder's arguments`)
  return { sql, argumentOf }
}

/**
 * Compiles an insert of one row once: its parameters are the row's values in the order of its
 * keys, which the row mapper (`accessTokenRow`…) always produces the same way.
 */
export function compileInsert<R extends object>(db: Db, build: (db: Db, row: R) => Compilable, sample: R): CompiledTemplate {
  const { sql, parameters } = build(db, sample).compile()
  const keys = Object.keys(sample)
  if (parameters.length !== keys.length) throw new Error(`the insert "${sql}" does not take one parameter per column`)
  return { sql, argumentOf: keys.map((_, i) => i) }
}

/** Sample rows of the inserted tables, from the row mappers: they fix each insert's column order. */
export interface SampleRows {
  grant: Insertable<Database['grants']>
  code: Insertable<Database['authorization_codes']>
  accessToken: Insertable<Database['access_tokens']>
  refreshToken: Insertable<Database['refresh_tokens']>
}

export type HotQueries = ReturnType<typeof compileHotQueries>

/** Every query above, compiled once for `db`'s dialect. */
export function compileHotQueries(db: Db, samples: SampleRows) {
  return {
    clientById: compileTemplate(db, clientById, 1),
    userById: compileTemplate(db, userById, 1),
    grantById: compileTemplate(db, grantById, 1),
    codeByHash: compileTemplate(db, codeByHash, 1),
    refreshTokenByHash: compileTemplate(db, refreshTokenByHash, 1),
    accessTokenByJti: compileTemplate(db, accessTokenByJti, 1),
    liveLoginSession: compileTemplate(db, liveLoginSession, 2),
    consentOf: compileTemplate(db, consentOf, 2),
    consumeCode: compileTemplate(db, consumeCode, 2),
    rotateRefreshToken: compileTemplate(db, rotateRefreshToken, 2),
    insertGrant: compileInsert(db, insertGrant, samples.grant),
    insertCode: compileInsert(db, insertCode, samples.code),
    insertAccessToken: compileInsert(db, insertAccessToken, samples.accessToken),
    insertRefreshToken: compileInsert(db, insertRefreshToken, samples.refreshToken),
  } satisfies Record<string, CompiledTemplate>
}

/** A compiled template with its arguments (a builder's arguments, or an insert row's values). */
export function bind<R>(template: CompiledTemplate, args: readonly unknown[]): CompiledQuery<R> {
  return CompiledQuery.raw(template.sql, template.argumentOf.map((i) => args[i])) as CompiledQuery<R>
}
