/**
 * Which language a page speaks: the first of the user's preferences the server has a catalog
 * for — the authorization request's `ui_locales` (OIDC Core §3.1.2.1), then the browser's
 * `Accept-Language` (RFC 9110 §12.5.4), then `pages.defaultLocale`. Each preference is matched by
 * RFC 4647 §3.4 lookup: `de-CH-1996` tries `de-CH-1996`, `de-CH`, then `de`.
 */
import { isLanguageTag } from '../protocol/ui-locales.js'

/** How much of an `Accept-Language` header is read: browsers send a few entries; the rest is noise. */
const MAX_HEADER_CHARS = 1024
const MAX_ENTRIES = 32

/**
 * The language tags of an `Accept-Language` header, most preferred first (by `q`, then order).
 * Never throws: entries that are not `tag[;q=value]` are skipped, `*` and `q=0` mean nothing
 * here, and only the first kilobyte of any header is read.
 */
export function acceptedLanguages(header: string | readonly string[] | undefined): string[] {
  if (header === undefined) return []
  const text = (typeof header === 'string' ? header : header.join(',')).slice(0, MAX_HEADER_CHARS)
  const entries: { tag: string; q: number; order: number }[] = []
  for (const [order, entry] of text.split(',').slice(0, MAX_ENTRIES).entries()) {
    const [range = '', ...params] = entry.split(';').map((part) => part.trim())
    if (!isLanguageTag(range)) continue
    let q = 1
    for (const param of params) {
      const weight = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i.exec(param)
      if (weight === null) {
        q = Number.NaN
        break
      }
      q = Number(weight[1])
    }
    if (q > 0) entries.push({ tag: range, q, order })
  }
  return entries.sort((a, b) => b.q - a.q || a.order - b.order).map(({ tag }) => tag)
}

/**
 * The supported locale `tag` falls back to (RFC 4647 §3.4 lookup: drop subtags from the end,
 * and a single-letter subtag with the one after it), or undefined. `supported` maps lower-case
 * tags to their canonical form.
 */
export function lookupLocale(tag: string, supported: ReadonlyMap<string, string>): string | undefined {
  const subtags = tag.toLowerCase().split('-')
  while (subtags.length > 0) {
    const found = supported.get(subtags.join('-'))
    if (found !== undefined) return found
    subtags.pop()
    if (subtags.length > 1 && subtags.at(-1)?.length === 1) subtags.pop()
  }
  return undefined
}

export interface LanguagePreferences {
  /** From the authorization request (`ui_locales`), when the page belongs to one. */
  uiLocales?: readonly string[] | undefined
  /** The request's `Accept-Language` header. */
  acceptLanguage?: string | readonly string[] | undefined
}

/** The locale a page is shown in: the first preference a catalog matches, else `defaultLocale`. */
export function chooseLocale(preferences: LanguagePreferences, supported: ReadonlyMap<string, string>, defaultLocale: string): string {
  for (const tag of [...(preferences.uiLocales ?? []), ...acceptedLanguages(preferences.acceptLanguage)]) {
    const found = lookupLocale(tag, supported)
    if (found !== undefined) return found
  }
  return defaultLocale
}
