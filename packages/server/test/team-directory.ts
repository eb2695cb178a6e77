/**
 * A team's own user store, as a test brings it: a directory of people in a SQLite file of its own
 * (not the server's database), with its own schema, its own password hashing (PBKDF2-SHA256),
 * case-insensitive logins and an `active` flag, seen by the server only through the
 * `AccountProvider` it implements (README, "Your own user store"). The tests change it behind the
 * server's back, as the team's own tools would.
 */
import { pbkdf2, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import SQLite from 'better-sqlite3'
import type { Account, AccountClaims, AccountProvider } from '../src/protocol/accounts.js'

const derive = promisify(pbkdf2)
const ITERATIONS = 100_000

async function hash(password: string, salt = randomBytes(16)): Promise<string> {
  const key = await derive(password, salt, ITERATIONS, 32, 'sha256')
  return `pbkdf2$${salt.toString('base64url')}$${key.toString('base64url')}`
}

async function matches(password: string, stored: string): Promise<boolean> {
  const [, salt = '', expected = ''] = stored.split('$')
  const key = await derive(password, Buffer.from(salt, 'base64url'), ITERATIONS, 32, 'sha256')
  const want = Buffer.from(expected, 'base64url')
  return want.length === key.length && timingSafeEqual(want, key)
}

interface Person {
  uid: string
  login: string
  pw: string
  full_name: string | null
  mail: string | null
  mail_ok: number
  changed: number
  active: number
}

export interface NewPerson {
  login?: string
  password?: string
  fullName?: string | null
  mail?: string | null
}

export class TeamDirectory implements AccountProvider {
  readonly #db: SQLite.Database
  /** A hash of a password nobody has: an unknown login costs a full check too. */
  readonly #dummy: Promise<string>
  /** Bumped by every change, so `changed` (the claims' `updated_at`) moves even within one second. */
  #clock = 1_700_000_000

  constructor(path: string) {
    this.#db = new SQLite(path)
    this.#db.exec(`create table if not exists people (
      uid text primary key,
      login text not null unique collate nocase,
      pw text not null,
      full_name text,
      mail text,
      mail_ok integer not null default 0,
      changed integer not null,
      active integer not null default 1
    )`)
    this.#dummy = hash(randomUUID())
  }

  #account(person: Person | undefined): Account | undefined {
    return person === undefined ? undefined : { id: person.uid, username: person.login, disabled: person.active === 0 }
  }

  #byLogin(login: string): Person | undefined {
    return this.#db.prepare('select * from people where login = ?').get(login) as Person | undefined
  }

  // AccountProvider

  async findById(id: string): Promise<Account | undefined> {
    return this.#account(this.#db.prepare('select * from people where uid = ?').get(id) as Person | undefined)
  }

  async findByUsername(username: string): Promise<Account | undefined> {
    return this.#account(this.#byLogin(username))
  }

  async verifyPassword(username: string, password: string): Promise<Account | undefined> {
    const person = this.#byLogin(username)
    const valid = await matches(password, person?.pw ?? (await this.#dummy))
    return valid ? this.#account(person) : undefined
  }

  async claims(account: Account): Promise<AccountClaims> {
    const person = this.#db.prepare('select * from people where uid = ?').get(account.id) as Person | undefined
    if (person === undefined) return {}
    return {
      ...(person.full_name === null ? {} : { name: person.full_name }),
      ...(person.mail === null ? {} : { email: person.mail, email_verified: person.mail_ok === 1 }),
      updated_at: person.changed,
    }
  }

  async setPassword(id: string, password: string): Promise<boolean> {
    return this.#db.prepare('update people set pw = ?, changed = ? where uid = ?').run(await hash(password), ++this.#clock, id).changes > 0
  }

  // The team's own tools

  async add(person: NewPerson = {}): Promise<{ id: string; username: string; password: string }> {
    const uid = `emp-${randomUUID()}`
    const login = person.login ?? `person-${randomUUID().slice(0, 8)}`
    const password = person.password ?? 'correct horse battery'
    this.#db
      .prepare('insert into people (uid, login, pw, full_name, mail, mail_ok, changed, active) values (?, ?, ?, ?, ?, 1, ?, 1)')
      .run(uid, login, await hash(password), person.fullName === undefined ? 'Pat Example' : person.fullName, person.mail === undefined ? `${login}@team.example` : person.mail, ++this.#clock)
    return { id: uid, username: login, password }
  }

  setActive(id: string, active: boolean): void {
    this.#db.prepare('update people set active = ?, changed = ? where uid = ?').run(active ? 1 : 0, ++this.#clock, id)
  }

  rename(id: string, fields: { login?: string; fullName?: string }): void {
    const person = this.#db.prepare('select * from people where uid = ?').get(id) as Person
    this.#db.prepare('update people set login = ?, full_name = ?, changed = ? where uid = ?').run(fields.login ?? person.login, fields.fullName ?? person.full_name, ++this.#clock, id)
  }

  remove(id: string): void {
    this.#db.prepare('delete from people where uid = ?').run(id)
  }

  passwordHashOf(id: string): string | undefined {
    return (this.#db.prepare('select pw from people where uid = ?').get(id) as { pw: string } | undefined)?.pw
  }

  close(): void {
    this.#db.close()
  }
}

/** The same directory without `setPassword`: a store whose passwords the server may not change. */
export function readOnly(directory: TeamDirectory): AccountProvider {
  return {
    findById: (id) => directory.findById(id),
    findByUsername: (username) => directory.findByUsername(username),
    verifyPassword: (username, password) => directory.verifyPassword(username, password),
    claims: (account) => directory.claims(account),
  }
}
