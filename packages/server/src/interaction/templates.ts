/**
 * Page templates: Eta files, the package's own (`templates/*.eta`) and, from `pages.templates`, the
 * adopter's, each of which replaces the built-in template of its name (any other `.eta` there is
 * a partial the adopter's templates may include as `@name`). Eta escapes every `<%= %>` output;
 * nothing is rendered raw but HTML the pages build themselves (`it.body`, `it.tHtml`). No inline
 * script anywhere: the only scripts are the passkey forms' files (`it.scripts`), so the CSP allows
 * `script-src 'self'` on those pages alone and forbids scripts everywhere else.
 *
 * Every template is compiled at start; one that does not compile stops the start with its path
 * and line.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { Eta, type TemplateFunction } from 'eta'
import { ConfigError } from '../config/errors.js'
import { listStartFolder, readStartFile } from './start-files.js'

/** The package's templates, beside `src/` and `dist/` alike. */
export const BUILT_IN_TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url))

/**
 * The pages, each a template of that name (`login.eta`); `layout` frames them, `account-apps`,
 * `account-sessions`, `account-password`, `account-browsers` and `account-passkeys` are sections of `account`.
 */
export const PAGE_TEMPLATES = ['login', 'consent', 'account', 'remove-access', 'sign-out-everywhere', 'logout', 'message', 'home'] as const
export type PageTemplate = (typeof PAGE_TEMPLATES)[number]

/** Every built-in template: the pages, the layout and the partials they include. */
export const TEMPLATE_NAMES = ['layout', ...PAGE_TEMPLATES, 'account-apps', 'account-sessions', 'account-password', 'account-browsers', 'account-passkeys'] as const

const TEMPLATE_FILE = /^([A-Za-z0-9_-]+)\.eta$/

const etaOptions = { autoEscape: true, autoTrim: false, cache: true, debug: true } as const

/** Where each template came from, by name. */
export type TemplateSources = ReadonlyMap<string, string>

/**
 * Compiles `source` (from `path`) or throws a `ConfigError` with the path and line. Eta finds
 * unclosed tags; the JavaScript inside the tags is checked by V8, whose line is mapped back to the
 * template through the line markers Eta writes in debug mode.
 */
function compile(eta: Eta, path: string, source: string): TemplateFunction {
  let code: string
  try {
    code = eta.compileToString(source)
  } catch (cause) {
    const message = (cause as Error).message
    const line = /at line (\d+)/.exec(message)?.[1]
    throw new ConfigError(`${path}${line === undefined ? '' : `:${line}`}: the template does not parse: ${message.split('\n')[0]}`)
  }
  const wrapped = `(function (it, options) {\n${code}\n})`
  try {
    new Script(wrapped, { filename: path })
  } catch (cause) {
    const generatedLine = Number(/:(\d+)$/m.exec((cause as Error).stack?.split('\n')[0] ?? '')?.[1] ?? 0)
    const marker = wrapped
      .split('\n')
      .slice(0, generatedLine)
      .reverse()
      .map((line) => /__eta\.line=(\d+)/.exec(line)?.[1])
      .find((line) => line !== undefined)
    throw new ConfigError(`${path}:${marker ?? 1}: the template does not compile: ${(cause as Error).message} (an unclosed { or ( above this line, or a typo in it)`)
  }
  return eta.compile(source)
}

/** Registers `source` as `@name`, reporting runtime errors with its own path (not that of the page including it). */
function register(eta: Eta, name: string, path: string, source: string): void {
  const template = compile(eta, path, source)
  const withPath: TemplateFunction = function (data, options) {
    return template.call(this, data, { ...options, filepath: path })
  }
  eta.loadTemplate(`@${name}`, withPath)
}

function readTemplates(dir: string, setting: string): Map<string, { path: string; source: string }> {
  const found = new Map<string, { path: string; source: string }>()
  for (const file of listStartFolder(dir, '.eta', setting)) {
    const path = join(dir, file)
    const name = TEMPLATE_FILE.exec(file)?.[1]
    if (name === undefined) throw new ConfigError(`${path}: a template's name is letters, digits, - and _ (login.eta)`)
    found.set(name, { path, source: readStartFile(path, setting).toString('utf8') })
  }
  return found
}

/** The compiled templates: the built-in set, and the active one (the built-in set with the adopter's templates over it). */
export class Templates {
  /** Only the package's templates: what a page falls back to when an adopter's template fails while rendering. */
  readonly builtIn = new Eta(etaOptions)
  /** The templates pages are rendered with. */
  readonly active: Eta
  /** The adopter's templates by name, with their paths: each replaces a built-in one or is a partial of theirs. */
  readonly overrides: TemplateSources

  constructor(overrideDir: string | undefined) {
    const builtIn = readTemplates(BUILT_IN_TEMPLATES, 'the built-in templates')
    for (const name of TEMPLATE_NAMES) {
      if (!builtIn.has(name)) throw new ConfigError(`${BUILT_IN_TEMPLATES}: the built-in template ${name}.eta is missing`)
    }
    for (const [name, { path, source }] of builtIn) register(this.builtIn, name, path, source)
    const overrides = overrideDir === undefined ? new Map<string, { path: string; source: string }>() : readTemplates(overrideDir, 'pages.templates')
    if (overrides.size === 0) {
      this.active = this.builtIn
    } else {
      this.active = new Eta(etaOptions)
      for (const [name, { path, source }] of new Map([...builtIn, ...overrides])) register(this.active, name, path, source)
    }
    this.overrides = new Map([...overrides].map(([name, { path }]) => [name, path]))
  }
}
