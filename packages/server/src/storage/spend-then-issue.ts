/**
 * The step behind `Store.redeemCode` and `Store.rotateRefreshToken`, written once for both stores:
 * the conditional UPDATE that spends the code or rotates the refresh token (`queries.ts`:
 * `consumeCode`, `rotateRefreshToken`) decides the race, and only if it matched are the tokens
 * issued in its place inserted. The store runs the whole step in one transaction, so the tokens
 * exist only if the spend happened, and an insert that fails (a jti already taken) undoes the spend.
 *
 * The rule is a generator of the statements to run, so that each store drives the same rule its own
 * way: `SqlStore` awaits each statement in a kysely transaction; `SqliteStore` runs them at once,
 * as prepared statements, inside its group commit (no promise, no query builder on that path).
 * `PostgresStore` sends the same rule as one statement instead (`queries.compileSpendThenIssue`:
 * the spend a `WITH`, the inserts selecting from its `RETURNING`), one round trip in place of five.
 */
import type { IssuedTokens } from '../protocol/store.js'
import { accessTokenRow, refreshTokenRow } from './rows.js'

/** The step's statements as a store holds them compiled: `S` is a compiled template or a prepared statement. */
export interface SpendThenIssueStatements<S> {
  /** The conditional `UPDATE … RETURNING` of `(hash, now)`: a row back means it matched. */
  spend: S
  /** The compiled inserts: their arguments are a row's values in its mapper's key order (`rows.ts`). */
  insertAccessToken: S
  insertRefreshToken: S
}

/**
 * A statement for the store to run with `args`, in the step's transaction. A `spend` is answered
 * with whether it returned a row; the answer to an `insert` (which returns none) is not read.
 */
export interface SpendThenIssueStep<S> {
  kind: 'spend' | 'insert'
  statement: S
  args: readonly unknown[]
}

/**
 * Spends `hash` at `now` and, only if that matched, issues `tokens`. Yields each statement in turn;
 * returns whether the spend matched (the store's `redeemCode` / `rotateRefreshToken` result).
 *
 * @example
 * const steps = spendThenIssue(statements, codeHash, now, tokens)
 * let step = steps.next()
 * while (!step.done) step = steps.next(run(step.value))
 * return step.value
 */
export function* spendThenIssue<S>(
  statements: SpendThenIssueStatements<S>,
  hash: string,
  now: number,
  tokens: IssuedTokens,
): Generator<SpendThenIssueStep<S>, boolean, boolean> {
  const spent = yield { kind: 'spend', statement: statements.spend, args: [hash, now] }
  if (!spent) return false
  yield { kind: 'insert', statement: statements.insertAccessToken, args: Object.values(accessTokenRow(tokens.accessToken)) }
  if (tokens.refreshToken !== null) {
    yield { kind: 'insert', statement: statements.insertRefreshToken, args: Object.values(refreshTokenRow(tokens.refreshToken)) }
  }
  return true
}
