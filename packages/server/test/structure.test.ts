/**
 * The rules of the code's shape that a reviewer would otherwise have to remember (STYLE rules 1,
 * 3 and 5, and the layers of DESIGN.md), checked on every run.
 *
 * Imports are read with TypeScript's own scanner (`ts.preProcessFile` finds `import`, `import type`,
 * `export … from` and `import()`, never a string or a comment that merely looks like one). A type
 * import ties two modules together as much as any other; only where a rule allows types alone is
 * the file parsed to tell them apart.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { ERROR_STATUS } from '../src/protocol/errors.js'

const SRC = join(import.meta.dirname, '../src')
const PACKAGES = join(import.meta.dirname, '../..')

function sourceFiles(dir: string, { tests = false } = {}): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path, { tests })
    if (!path.endsWith('.ts') || path.endsWith('.d.ts')) return []
    return tests || (!path.endsWith('.test.ts') && !path.endsWith('.suite.ts')) ? [path] : []
  })
}

interface Import {
  /** As written. */
  specifier: string
  /** The `.ts` file a relative specifier names, when it names one. */
  file: string | undefined
}

/** A relative specifier to the file it names: `.js` → `.ts`, a folder or extensionless → `index.ts`. */
function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const base = join(dirname(from), specifier)
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')]
  return candidates.find((path) => path.endsWith('.ts') && existsSync(path) && statSync(path).isFile())
}

/**
 * The specifiers `path` imports types from and nothing else (`import type …`, `export type … from`,
 * or only `type` names): erased from the JavaScript.
 */
function typeOnlySpecifiers(path: string): Set<string> {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const typeOnly = new Set<string>()
  const valued = new Set<string>()
  for (const statement of source.statements) {
    let specifier: string | undefined
    let isType = false
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text
      const clause = statement.importClause
      const named = clause?.namedBindings
      isType =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((element) => element.isTypeOnly)))
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier)) {
      specifier = statement.moduleSpecifier.text
      const clause = statement.exportClause
      isType =
        statement.isTypeOnly ||
        (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly))
    }
    if (specifier === undefined) continue
    ;(isType ? typeOnly : valued).add(specifier)
  }
  for (const specifier of valued) typeOnly.delete(specifier)
  return typeOnly
}

const importCache = new Map<string, Import[]>()

function importsOf(path: string): Import[] {
  const cached = importCache.get(path)
  if (cached !== undefined) return cached
  const imports = ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.map(({ fileName }) => ({
    specifier: fileName,
    file: resolveRelative(path, fileName),
  }))
  importCache.set(path, imports)
  return imports
}

/**
 * The import cycles among `files`, one per strongly connected component (Tarjan), so a tangle of
 * many loops is one finding: its shortest loop through its first file (that file repeated at the
 * end) and every file in the tangle.
 */
function importCycles(files: readonly string[]): { loop: string[]; tangle: string[] }[] {
  const inGraph = new Set(files)
  const edges = (file: string) => [...new Set(importsOf(file).flatMap(({ file: to }) => (to !== undefined && inGraph.has(to) ? [to] : [])))]
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (file: string): void => {
    index.set(file, index.size)
    low.set(file, index.get(file)!)
    stack.push(file)
    onStack.add(file)
    for (const to of edges(file)) {
      if (!index.has(to)) {
        visit(to)
        low.set(file, Math.min(low.get(file)!, low.get(to)!))
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || edges(file).includes(file)) components.push(component)
  }
  for (const file of [...files].sort()) if (!index.has(file)) visit(file)
  // One concrete loop through each component: the shortest path back to its first file.
  return components.map((component) => ({ loop: shortestLoop(component), tangle: [...component].sort() }))

  function shortestLoop(component: string[]): string[] {
    const members = new Set(component)
    const start = [...component].sort()[0]!
    const previous = new Map<string, string>()
    const queue = [start]
    for (let i = 0; i < queue.length; i++) {
      const file = queue[i]!
      for (const to of edges(file).filter((to) => members.has(to))) {
        if (to === start) {
          const loop = [start]
          for (let at: string | undefined = file; at !== undefined && at !== start; at = previous.get(at)) loop.splice(1, 0, at)
          return [...loop, start]
        }
        if (!previous.has(to)) {
          previous.set(to, file)
          queue.push(to)
        }
      }
    }
    return [...component, component[0]!]
  }
}

/** The folder under `src/` a file belongs to (`protocol`, `tokens`, …), or its name for top-level files. */
const layerOf = (file: string): string => relative(SRC, file).split(sep)[0] ?? ''

describe('code structure', () => {
  it("no package's src/ has an import cycle (type imports count)", () => {
    const packages = readdirSync(PACKAGES).filter((name) => existsSync(join(PACKAGES, name, 'src')))
    expect(packages).toContain('server')
    const cycles = packages.flatMap((name) => {
      const root = join(PACKAGES, name, 'src')
      const path = (file: string) => relative(root, file)
      return importCycles(sourceFiles(root, { tests: true })).map(
        ({ loop, tangle }) =>
          `packages/${name}/src: ${loop.map(path).join(' → ')}` +
          (tangle.length > loop.length - 1 ? ` (one loop of ${tangle.length} tangled files: ${tangle.map(path).join(', ')})` : ''),
      )
    })
    expect(cycles).toEqual([])
  })

  it('protocol/ imports no configuration, HTTP framework, database driver or template engine, and no layer above it', () => {
    const forbiddenPackage = /^(?:fastify|kysely|better-sqlite3|pg|eta)(?:\/|$)|^@fastify\//
    const offenders = sourceFiles(join(SRC, 'protocol')).flatMap((file) =>
      importsOf(file)
        .filter(({ specifier, file: to }) =>
          to === undefined
            ? forbiddenPackage.test(specifier)
            : !['protocol', 'tokens'].includes(layerOf(to)),
        )
        .map(({ specifier }) => `${relative(SRC, file)} imports ${specifier}`),
    )
    expect(offenders).toEqual([])
  })

  it('tokens/ signs, verifies, hashes and keeps keys: it imports no other layer but the store contracts, and those as types', () => {
    const offenders = sourceFiles(join(SRC, 'tokens')).flatMap((file) =>
      importsOf(file)
        .filter(({ specifier, file: to }) => {
          if (to === undefined || layerOf(to) === 'tokens') return false
          return !(relative(SRC, to) === join('protocol', 'store.ts') && typeOnlySpecifiers(file).has(specifier))
        })
        .map(({ specifier }) => `${relative(SRC, file)} imports ${specifier}`),
    )
    expect(offenders).toEqual([])
  })

  it('config/ sits above protocol/: nothing in protocol/, tokens/ or storage/ imports it', () => {
    const offenders = ['protocol', 'tokens', 'storage'].flatMap((layer) =>
      sourceFiles(join(SRC, layer)).flatMap((file) =>
        importsOf(file)
          .filter(({ file: to }) => to !== undefined && layerOf(to) === 'config')
          .map(({ specifier }) => `${relative(SRC, file)} imports ${specifier}`),
      ),
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
