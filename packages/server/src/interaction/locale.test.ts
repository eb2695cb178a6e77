import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acceptedLanguages, chooseLocale, lookupLocale } from './locale.js'

const SUPPORTED = new Map(['en', 'de', 'fr', 'pt-BR'].map((tag) => [tag.toLowerCase(), tag]))

describe('Accept-Language (RFC 9110 §12.5.4)', () => {
  it('tags by q, then by their order; q=0 and * say nothing', () => {
    expect(acceptedLanguages('fr;q=0.5, de-CH, en;q=0.9, *;q=0.1, es;q=0')).toEqual(['de-CH', 'en', 'fr'])
    expect(acceptedLanguages('de, fr')).toEqual(['de', 'fr'])
    expect(acceptedLanguages('DE-at;Q=1.000')).toEqual(['DE-at'])
  })

  it('malformed entries are skipped, never an error', () => {
    expect(acceptedLanguages('de;q=2, fr;q=abc, ;q=1, en-, -en, x y, nl;level=1, it;q=0.7')).toEqual(['it'])
    expect(acceptedLanguages(undefined)).toEqual([])
    expect(acceptedLanguages('')).toEqual([])
    expect(acceptedLanguages(['de', 'fr;q=0.5'])).toEqual(['de', 'fr'])
  })

  it('a header of any size or shape gives a list of tags, quickly', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20_000 }), fc.string({ unit: fc.constantFrom(...'abcDE-;,=q0.1 *\t'.split('')), maxLength: 5_000 })), (header) => {
        const tags = acceptedLanguages(header)
        expect(tags.length).toBeLessThanOrEqual(32)
        for (const tag of tags) expect(tag).toMatch(/^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/)
      }),
    )
    const huge = `${'de-DE;q=0.5,'.repeat(10_000)}fr`
    const started = performance.now()
    expect(acceptedLanguages(huge)).toEqual(Array(32).fill('de-DE'))
    expect(performance.now() - started).toBeLessThan(50)
  })
})

describe('RFC 4647 §3.4 lookup', () => {
  it('drops subtags from the end until a catalog matches, case aside', () => {
    expect(lookupLocale('de-CH-1996', SUPPORTED)).toBe('de')
    expect(lookupLocale('PT-br', SUPPORTED)).toBe('pt-BR')
    expect(lookupLocale('pt-PT', SUPPORTED)).toBeUndefined()
    expect(lookupLocale('fr-x-private', SUPPORTED)).toBe('fr')
    expect(lookupLocale('es', SUPPORTED)).toBeUndefined()
  })
})

describe('the language of a page', () => {
  it('OIDC Core §3.1.2.1: ui_locales wins over Accept-Language', () => {
    expect(chooseLocale({ uiLocales: ['fr'], acceptLanguage: 'de' }, SUPPORTED, 'en')).toBe('fr')
  })

  it('an unsupported ui_locales falls through to Accept-Language, then to the default', () => {
    expect(chooseLocale({ uiLocales: ['es', 'it'], acceptLanguage: 'nl, de;q=0.5' }, SUPPORTED, 'en')).toBe('de')
    expect(chooseLocale({ uiLocales: ['es'], acceptLanguage: 'nl' }, SUPPORTED, 'fr')).toBe('fr')
    expect(chooseLocale({}, SUPPORTED, 'de')).toBe('de')
  })
})
