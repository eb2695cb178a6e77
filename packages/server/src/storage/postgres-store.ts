/**
 * The store on PostgreSQL: `SqlStore` with the login's hot path in as few round trips as its rules
 * allow (issue #15). A code exchange or a refresh sends three statements: the client (as every
 * method of `SqlStore` would), the code or refresh token with its grant and user in one row, and
 * the spend with the tokens it issues in one statement; the authorization endpoint writes the
 * grant and its code in one. Each statement is a round trip to the database, so on PostgreSQL,
 * unlike embedded SQLite, their number bounds what one instance does.
 */
import type { CodeRecord, GrantRecord, IssuedTokens, RefreshTokenRecord, WithGrant } from '../protocol/store.js'
import * as queries from './queries.js'
import { SAMPLE_ROWS, accessTokenRow, codeRow, grantRow, refreshTokenRow, toCode, toGrant, toRefreshToken, toUser, type Row } from './rows.js'
import { SqlStore, unique } from './sql-store.js'
import type { Database } from './database.js'
import type { Kysely } from 'kysely'

/** The one-statement spends of one kind (`queries.compileSpendThenIssue`), with and without a refresh token. */
interface OneStatementSpend {
  withRefreshToken: queries.CompiledTemplate
  accessTokenOnly: queries.CompiledTemplate
}

/** A row of `queries.codeWithGrantByHashAsJson` and its refresh-token twin: one object per table. */
type PerTable = Record<string, Record<string, unknown>>

export class PostgresStore extends SqlStore {
  readonly #db: Kysely<Database>
  readonly #grantWithCode: queries.CompiledTemplate
  readonly #codeWithGrant: queries.CompiledTemplate
  readonly #refreshTokenWithGrant: queries.CompiledTemplate
  readonly #redeem: OneStatementSpend
  readonly #rotate: OneStatementSpend

  /** `db` is a PostgreSQL database migrated to the latest schema; the store owns it from now on. */
  constructor(db: Kysely<Database>) {
    super(db)
    this.#db = db
    this.#grantWithCode = queries.compileGrantWithCode(db, SAMPLE_ROWS)
    this.#codeWithGrant = queries.compileTemplate(db, queries.codeWithGrantByHashAsJson, 1)
    this.#refreshTokenWithGrant = queries.compileTemplate(db, queries.refreshTokenWithGrantByHashAsJson, 1)
    const compile = (spend: Parameters<typeof queries.compileSpendThenIssue>[1]): OneStatementSpend => ({
      withRefreshToken: queries.compileSpendThenIssue(db, spend, SAMPLE_ROWS, { refreshToken: true }),
      accessTokenOnly: queries.compileSpendThenIssue(db, spend, SAMPLE_ROWS, { refreshToken: false }),
    })
    this.#redeem = compile(queries.consumeCode)
    this.#rotate = compile(queries.rotateRefreshToken)
  }

  override async createGrantWithCode(grant: GrantRecord, code: CodeRecord): Promise<void> {
    const args = [...Object.values(grantRow(grant)), ...Object.values(codeRow(code))]
    await unique('grant or authorization code', this.#db.executeQuery(queries.bind(this.#grantWithCode, args)))
  }

  override getCodeWithGrant(codeHash: string): Promise<WithGrant<{ code: CodeRecord }> | undefined> {
    return this.#withGrant(this.#codeWithGrant, codeHash, (rows) => ({ code: toCode(rows.authorization_codes as Row<'authorization_codes'>) }))
  }

  override getRefreshTokenWithGrant(tokenHash: string): Promise<WithGrant<{ token: RefreshTokenRecord }> | undefined> {
    return this.#withGrant(this.#refreshTokenWithGrant, tokenHash, (rows) => ({ token: toRefreshToken(rows.refresh_tokens as Row<'refresh_tokens'>) }))
  }

  override redeemCode(codeHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    return this.#spendThenIssue(this.#redeem, codeHash, now, tokens)
  }

  override rotateRefreshToken(tokenHash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    return this.#spendThenIssue(this.#rotate, tokenHash, now, tokens)
  }

  async #withGrant<T extends object>(join: queries.CompiledTemplate, hash: string, map: (rows: PerTable) => T): Promise<WithGrant<T> | undefined> {
    const rows = (await this.#db.executeQuery(queries.bind<PerTable>(join, [hash]))).rows[0]
    return rows && { ...map(rows), grant: toGrant(rows.grants as Row<'grants'>), user: toUser(rows.users as Row<'users'>) }
  }

  async #spendThenIssue(statements: OneStatementSpend, hash: string, now: number, tokens: IssuedTokens): Promise<boolean> {
    const access = Object.values(accessTokenRow(tokens.accessToken))
    const [statement, args] =
      tokens.refreshToken === null
        ? [statements.accessTokenOnly, [hash, now, ...access]]
        : [statements.withRefreshToken, [hash, now, ...access, ...Object.values(refreshTokenRow(tokens.refreshToken))]]
    const { rows } = await unique('issued token', this.#db.executeQuery(queries.bind<{ spent: number | string }>(statement, args)))
    return Number(rows[0]?.spent ?? 0) > 0
  }
}
