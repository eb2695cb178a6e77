/**
 * The rules of the code's shape that a reviewer would otherwise have to remember (STYLE rules 1,
 * 3 and 5), checked on every run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_STATUS } from '../src/protocol/errors.js'

const SRC = join(import.meta.dirname, '../src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.suite.ts') ? [path] : []
  })
}

const importsOf = (path: string): string[] =>
  [...readFileSync(path, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '')

describe('code structure', () => {
  it('protocol/ imports no HTTP framework, database driver or template engine', () => {
    const forbidden = /^(fastify|@fastify\/|kysely|better-sqlite3|pg|eta)/
    const offenders = sourceFiles(join(SRC, 'protocol')).flatMap((file) =>
      importsOf(file)
        .filter((spec) => forbidden.test(spec) || /\/(endpoints|http|storage|interaction)\//.test(spec))
        .map((spec) => `${relative(SRC, file)} imports ${spec}`),
    )
    expect(offenders).toEqual([])
  })

  it('nothing outside config/ reads the environment but the CLI entry point, which hands it to config/', () => {
    const readers = sourceFiles(SRC)
      .filter((file) => readFileSync(file, 'utf8').includes('process.env'))
      .map((file) => relative(SRC, file))
      .filter((file) => !file.startsWith('config/'))
    expect(readers).toEqual(['cli/main.ts'])
  })

  it('the error table in the package README lists exactly the codes and statuses of OAuthErrorCode', () => {
    const readme = readFileSync(join(SRC, '../README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Errors'))
    const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])])
    expect(Object.fromEntries(rows)).toEqual({ ...ERROR_STATUS })
  })
})
