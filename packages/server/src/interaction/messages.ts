/**
 * The pages' words: message catalogs, one JSON file per language (`messages/en.json` …, a flat
 * object of message keys and texts with `{name}` placeholders). The package's own catalogs are
 * built in; `pages.messages` names a folder of more, which add languages or replace messages key
 * by key. Every catalog is read and checked at start: a file that does not parse stops it with its
 * path and line. A message missing from a catalog falls back per key, along the language's
 * fallbacks (`pt-BR`, `pt`) and then to English, which is complete.
 */
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../config/errors.js'
import { isLanguageTag } from '../protocol/ui-locales.js'
import { lookupLocale } from './locale.js'
import { lineAt, listStartFolder, readStartFile } from './start-files.js'

/** The package's catalogs, beside `src/` and `dist/` alike. */
export const BUILT_IN_MESSAGES = fileURLToPath(new URL('../../messages/', import.meta.url))

/** The language every other falls back to, key by key; its built-in catalog has every key. */
export const FALLBACK_LOCALE = 'en'

/** A value for a placeholder: text as it is, a number in the page's language, or a wait ("40 seconds"). */
export type MessageValue = string | number | { readonly seconds: number }
export type MessageValues = Readonly<Record<string, MessageValue>>

/** Words for a page, not yet in a language: a message key and its placeholders' values. */
export interface PageText {
  readonly key: string
  readonly values?: MessageValues
}

export const pageText = (key: string, values?: MessageValues): PageText => (values === undefined ? { key } : { key, values })

/** A time as `<time datetime>` shows it: ISO 8601 for machines, a date and time (UTC) in the page's language for people. */
export interface TimeView {
  iso: string
  text: string
}

type Catalog = ReadonlyMap<string, string>

/** The JSON of a file, or a `ConfigError` with its path and the line of the problem. */
function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (cause) {
    const message = (cause as Error).message
    // V8 says "at position N" (Node 20) or "(line L column C)" (newer); the end of input has neither.
    const position = /at position (\d+)/.exec(message)
    const line = /\(line (\d+) column \d+\)/.exec(message)
    const at = line !== null ? Number(line[1]) : position !== null ? lineAt(text, Number(position[1])) : text.split('\n').length
    throw new ConfigError(`${path}:${at}: not valid JSON: ${message.replace(/\s*\(line \d+ column \d+\)$/, '')}`)
  }
}

/** A catalog file: a JSON object whose every value is text. */
function readCatalog(path: string, setting: string): Catalog {
  const text = readStartFile(path, setting).toString('utf8')
  const data = parseJson(path, text)
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`${path}:1: a message catalog is a JSON object of message keys and texts, e.g. {"login.heading": "Sign in"}`)
  }
  const catalog = new Map<string, string>()
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') {
      const line = lineAt(text, text.indexOf(JSON.stringify(key)))
      throw new ConfigError(`${path}:${line}: the message ${JSON.stringify(key)} is not text (a JSON string)`)
    }
    catalog.set(key, value)
  }
  return catalog
}

/** The catalogs of a folder by canonical locale (`pt-br.json` is `pt-BR`); other files are ignored. */
function readCatalogFolder(dir: string, setting: string): Map<string, Catalog> {
  const catalogs = new Map<string, Catalog>()
  for (const name of listStartFolder(dir, '.json', setting)) {
    const path = join(dir, name)
    const locale = canonicalLocale(basename(name, '.json'))
    if (locale === undefined) throw new ConfigError(`${path}: the file name is not a language tag (BCP 47), e.g. de.json or pt-BR.json`)
    if (catalogs.has(locale)) throw new ConfigError(`${path}: a second catalog for ${locale}`)
    catalogs.set(locale, readCatalog(path, setting))
  }
  return catalogs
}

/** `pt-br` → `pt-BR`; undefined when `tag` is not a language tag. */
export function canonicalLocale(tag: string): string | undefined {
  if (!isLanguageTag(tag)) return undefined
  try {
    return Intl.getCanonicalLocales(tag)[0]
  } catch {
    return undefined
  }
}

const PLACEHOLDER = /\{(\w+)\}/g

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c)

/** Whether a language is written right to left (`ar`, `he`, `fa`, `ur` …), for `<html dir>`: from ICU's text info. */
function writingDirection(locale: string): 'ltr' | 'rtl' {
  // `getTextInfo()` in newer engines, the `textInfo` getter in Node 20; neither in the standard library types yet.
  const info = new Intl.Locale(locale) as Intl.Locale & { getTextInfo?: () => { direction?: string }; textInfo?: { direction?: string } }
  const direction = typeof info.getTextInfo === 'function' ? info.getTextInfo().direction : info.textInfo?.direction
  return direction === 'rtl' ? 'rtl' : 'ltr'
}

/** The words of one language, looked up key by key along its fallbacks. */
export class Translator {
  readonly locale: string
  /** `ltr` or `rtl`, for `<html dir>`. */
  readonly dir: 'ltr' | 'rtl'
  readonly #catalogs: readonly Catalog[]
  readonly #describeScope: (name: string) => string
  readonly #number: Intl.NumberFormat
  readonly #seconds: Intl.NumberFormat
  readonly #minutes: Intl.NumberFormat
  readonly #time: Intl.DateTimeFormat

  constructor(locale: string, catalogs: readonly Catalog[], describeScope: (name: string) => string) {
    this.locale = locale
    this.dir = writingDirection(locale)
    this.#catalogs = catalogs
    this.#describeScope = describeScope
    this.#number = new Intl.NumberFormat(locale)
    this.#seconds = new Intl.NumberFormat(locale, { style: 'unit', unit: 'second', unitDisplay: 'long' })
    this.#minutes = new Intl.NumberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'long' })
    this.#time = new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: 'UTC',
      timeZoneName: 'short',
    })
  }

  /** The message's text in this language (or the first fallback that has it; the key itself when none does). */
  #message(key: string): string {
    for (const catalog of this.#catalogs) {
      const found = catalog.get(key)
      if (found !== undefined) return found
    }
    return key
  }

  /** Whether a catalog of this language or its fallbacks has the message. */
  has(key: string): boolean {
    return this.#catalogs.some((catalog) => catalog.has(key))
  }

  #value(value: MessageValue | undefined, name: string): string {
    if (value === undefined) return `{${name}}`
    if (typeof value === 'string') return value
    if (typeof value === 'number') return this.#number.format(value)
    // A wait as people say it: seconds up to a minute and a half, then whole minutes, rounded up.
    const { seconds } = value
    return seconds < 90 ? this.#seconds.format(seconds) : this.#minutes.format(Math.ceil(seconds / 60))
  }

  /** Text: the message with its placeholders filled in (for `<%= %>`, which escapes it). */
  t = (key: string, values: MessageValues = {}): string =>
    this.#message(key).replace(PLACEHOLDER, (_, name: string) => this.#value(values[name], name))

  /**
   * HTML: the message escaped, each `{name}` replaced by its value, escaped, in `<span class="name">`
   * (for `<%~ %>`, which does not escape again).
   */
  tHtml = (key: string, values: MessageValues = {}): string =>
    this.#message(key)
      .split(PLACEHOLDER)
      .map((part, i) => (i % 2 === 0 ? escapeHtml(part) : `<span class="${escapeHtml(part)}">${escapeHtml(this.#value(values[part], part))}</span>`))
      .join('')

  text(text: PageText): string {
    return this.t(text.key, text.values)
  }

  /** What the scope lets an app do, in this language. */
  scope(name: string): string {
    return this.#describeScope(name)
  }

  /** `seconds` since the epoch as `<time>` shows it. */
  time(seconds: number): TimeView {
    const date = new Date(seconds * 1000)
    return { iso: date.toISOString().replace(/\.000Z$/, 'Z'), text: this.#time.format(date) }
  }
}

export interface CatalogSettings {
  /** `pages.messages`: a folder of catalogs that add languages or replace messages. */
  dir: string | undefined
  /** `pages.defaultLocale`: the language when no preference matches a catalog. */
  defaultLocale: string
  /** The configured scopes and their descriptions (`config.scopes`). */
  scopes: Readonly<Record<string, string>>
}

/**
 * Every catalog, built in and the adopter's, checked at start.
 *
 * Scope descriptions are the messages `scope.NAME`. In a language, a scope is described by the
 * adopter's catalog of that language first; then by the built-in one, as long as the configured
 * description is still the built-in one (an adopter's own wording is not replaced by a translation
 * of ours); then by the adopter's English catalog, then by the configured description (`scopes`),
 * then by its name.
 */
export class Catalogs {
  /** Every language a page can be shown in, canonical: the built-in ones, then the adopter's others. */
  readonly locales: readonly string[]
  readonly defaultLocale: string
  /** Lower-case tag → canonical tag of every language in `locales`. */
  readonly supported: ReadonlyMap<string, string>
  readonly #builtIn: ReadonlyMap<string, Catalog>
  readonly #adopter: ReadonlyMap<string, Catalog>
  readonly #scopes: Readonly<Record<string, string>>
  readonly #translators = new Map<string, Translator>()

  constructor(settings: CatalogSettings) {
    this.#builtIn = readCatalogFolder(BUILT_IN_MESSAGES, 'the built-in messages')
    if (!this.#builtIn.has(FALLBACK_LOCALE)) throw new ConfigError(`${BUILT_IN_MESSAGES}: the built-in English catalog (en.json) is missing`)
    this.#adopter = settings.dir === undefined ? new Map() : readCatalogFolder(settings.dir, 'pages.messages')
    const builtInOrder = [FALLBACK_LOCALE, ...[...this.#builtIn.keys()].filter((locale) => locale !== FALLBACK_LOCALE)]
    this.locales = Object.freeze([...builtInOrder, ...[...this.#adopter.keys()].filter((locale) => !this.#builtIn.has(locale))])
    this.supported = new Map(this.locales.map((locale) => [locale.toLowerCase(), locale]))
    this.#scopes = settings.scopes
    const defaultLocale = lookupLocale(settings.defaultLocale, this.supported)
    if (defaultLocale === undefined) {
      throw new ConfigError(
        `pages.defaultLocale: no catalog for ${JSON.stringify(settings.defaultLocale)} (languages: ${this.locales.join(', ')}; ` +
          `add ${settings.defaultLocale}.json to the pages.messages folder)`,
      )
    }
    this.defaultLocale = defaultLocale
  }

  /** The language `locale` (one of `locales`) and its fallbacks, most specific first: `pt-BR`, `pt`. */
  #fallbacks(locale: string): string[] {
    const chain: string[] = []
    const subtags = locale.split('-')
    while (subtags.length > 0) {
      const found = this.supported.get(subtags.join('-').toLowerCase())
      if (found !== undefined && !chain.includes(found)) chain.push(found)
      subtags.pop()
    }
    return chain
  }

  /** The catalogs of `locales` among `from`, in that order. */
  #catalogsOf(locales: readonly string[], ...from: ReadonlyMap<string, Catalog>[]): Catalog[] {
    return locales.flatMap((locale) => from.flatMap((catalogs) => catalogs.get(locale) ?? []))
  }

  /** The words of `locale`, one of `locales` (anything else is the default language). */
  translator(locale: string): Translator {
    const known = this.supported.get(locale.toLowerCase()) ?? this.defaultLocale
    let translator = this.#translators.get(known)
    if (translator === undefined) {
      const own = this.#fallbacks(known)
      const chain = [...own, ...(own.includes(FALLBACK_LOCALE) ? [] : [FALLBACK_LOCALE])]
      // Per language, the adopter's messages before the built-in ones.
      translator = new Translator(known, this.#catalogsOf(chain, this.#adopter, this.#builtIn), this.#scopeDescriber(own))
      this.#translators.set(known, translator)
    }
    return translator
  }

  #scopeDescriber(own: readonly string[]): (name: string) => string {
    const english = this.#builtIn.get(FALLBACK_LOCALE)
    const adopterOwn = this.#catalogsOf(own, this.#adopter)
    const builtInOwn = this.#catalogsOf(own, this.#builtIn)
    const adopterEnglish = own.includes(FALLBACK_LOCALE) ? [] : this.#catalogsOf([FALLBACK_LOCALE], this.#adopter)
    const find = (catalogs: readonly Catalog[], key: string) => catalogs.map((catalog) => catalog.get(key)).find((text) => text !== undefined)
    return (name) => {
      const key = `scope.${name}`
      const configured = Object.hasOwn(this.#scopes, name) ? this.#scopes[name] : undefined
      const ours = configured === undefined || configured === english?.get(key)
      return find(adopterOwn, key) ?? (ours ? find(builtInOwn, key) : undefined) ?? find(adopterEnglish, key) ?? configured ?? name
    }
  }
}
