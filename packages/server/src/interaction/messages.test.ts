import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../config/errors.js'
import { DEFAULT_SCOPES } from '../config/load.js'
import { BUILT_IN_MESSAGES, Catalogs, pageText } from './messages.js'
import { BUILT_IN_TEMPLATES } from './templates.js'

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/pages')
const SRC = join(import.meta.dirname, '..')

const builtIn = (locale: string): Record<string, string> => JSON.parse(readFileSync(join(BUILT_IN_MESSAGES, `${locale}.json`), 'utf8')) as Record<string, string>
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

const dirs: string[] = []
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-messages-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function catalogs(dir?: string, defaultLocale = 'en', scopes: Record<string, string> = { ...DEFAULT_SCOPES }): Catalogs {
  return new Catalogs({ dir, defaultLocale, scopes })
}

function startFailure(build: () => unknown): string {
  try {
    build()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('the built-in catalogs', () => {
  const english = builtIn('en')
  const locales = readdirSync(BUILT_IN_MESSAGES).map((name) => name.replace(/\.json$/, ''))

  it('English, German and French, in that order; English first, the fallback of every other', () => {
    expect(locales.sort()).toEqual(['de', 'en', 'fr'])
    expect(catalogs().locales).toEqual(['en', 'de', 'fr'])
  })

  it.each(['de', 'fr'])('%s translates every English message, with the same placeholders', (locale) => {
    const catalog = builtIn(locale)
    expect(Object.keys(catalog).sort()).toEqual(Object.keys(english).sort())
    for (const [key, text] of Object.entries(catalog)) expect(placeholders(text), key).toEqual(placeholders(english[key] ?? ''))
  })

  it('the English scope descriptions are the default scopes\' descriptions', () => {
    for (const [name, description] of Object.entries(DEFAULT_SCOPES)) expect(english[`scope.${name}`]).toBe(description)
  })

  it('every message the templates and the code name exists in English', () => {
    const named = new Set<string>()
    const messageKey = /'((?:layout|login|consent|account|removeAccess|interaction|error|home|scope)\.[A-Za-z_]+)'/g
    for (const name of readdirSync(BUILT_IN_TEMPLATES)) {
      for (const m of readFileSync(join(BUILT_IN_TEMPLATES, name), 'utf8').matchAll(messageKey)) named.add(m[1] ?? '')
    }
    // In the code, the keys given to pageText (some chosen by a condition inside the call).
    for (const dir of ['interaction', 'endpoints', 'http']) {
      for (const name of readdirSync(join(SRC, dir)).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))) {
        for (const call of readFileSync(join(SRC, dir, name), 'utf8').matchAll(/pageText\(([^)]*)\)/g)) {
          for (const m of (call[1] ?? '').matchAll(messageKey)) named.add(m[1] ?? '')
        }
      }
    }
    expect(named.size).toBeGreaterThan(50)
    expect([...named].filter((key) => !(key in english))).toEqual([])
  })
})

describe('words in a language', () => {
  const words = catalogs()

  it('placeholders filled in; tHtml escapes the message and the values and marks each value', () => {
    const de = words.translator('de')
    expect(de.t('login.leadClient', { client: 'Fotodrucker' })).toBe('um mit Fotodrucker fortzufahren')
    expect(de.tHtml('login.leadClient', { client: '<b>&"' })).toBe('um mit <span class="client">&lt;b&gt;&amp;&quot;</span> fortzufahren')
    const odd = folder({ 'en.json': JSON.stringify({ 'x.y': 'A & <b>{name}</b> {missing}' }) })
    expect(catalogs(odd).translator('en').tHtml('x.y', { name: 'N' })).toBe('A &amp; &lt;b&gt;<span class="name">N</span>&lt;/b&gt; <span class="missing">{missing}</span>')
  })

  it('a wait as people say it, in the language: seconds, then whole minutes', () => {
    const wait = (locale: string, seconds: number) => words.translator(locale).text(pageText('login.throttled', { wait: { seconds } }))
    expect(wait('en', 15)).toBe('Too many failed sign-in attempts. Wait 15 seconds and try again.')
    expect(wait('en', 1)).toContain('Wait 1 second and')
    expect(wait('en', 150)).toContain('Wait 3 minutes and')
    expect(wait('de', 15)).toContain('Warten Sie 15 Sekunden')
    expect(wait('fr', 240)).toContain('Attendez 4 minutes')
  })

  it('dates and times in the language, in UTC, with the ISO form for machines', () => {
    const at = Date.UTC(2025, 2, 5, 14, 3) / 1000
    expect(words.translator('en').time(at)).toEqual({ iso: '2025-03-05T14:03:00Z', text: expect.stringMatching(/^Mar 5, 2025.*02:03\sPM UTC$/) })
    expect(words.translator('de').time(at).text).toMatch(/^5\. März 2025.*14:03 UTC$/)
    expect(words.translator('fr').time(at).text).toMatch(/^5 mars 2025.*14:03 UTC$/)
  })

  it('<html dir>: right to left for the languages written so', () => {
    const rtl = catalogs(folder({ 'ar.json': '{}', 'he.json': '{}', 'de-CH.json': '{}' }))
    expect(['ar', 'he', 'de-CH', 'en'].map((locale) => rtl.translator(locale).dir)).toEqual(['rtl', 'rtl', 'ltr', 'ltr'])
  })

  it('an unknown language is the default one', () => {
    expect(catalogs(undefined, 'de').translator('tlh').locale).toBe('de')
  })
})

describe('pages.messages: the adopter\'s catalogs', () => {
  const words = catalogs(join(FIXTURES, 'messages'))

  it('add languages (listed after the built-in ones) and replace messages key by key', () => {
    expect(words.locales).toEqual(['en', 'de', 'fr', 'nl'])
    const de = words.translator('de')
    expect(de.t('login.heading')).toBe('Bei Acme Cloud anmelden')
    expect(de.t('login.username')).toBe('Benutzername')
    expect(de.t('brand.help', { product: 'Acme' })).toBe('Probleme bei der Anmeldung? Fragen Sie den Acme-Service-Desk.')
  })

  it('a message missing from a catalog falls back to English, key by key', () => {
    const nl = words.translator('nl')
    expect(nl.t('login.heading')).toBe('Inloggen')
    expect(nl.t('consent.heading')).toBe('Allow access?')
    expect(nl.t('brand.help', { product: 'Acme' })).toBe('Trouble signing in? Ask the Acme service desk.')
    expect(nl.t('no.such.message')).toBe('no.such.message')
  })

  it('a regional catalog falls back to its language, then to English', () => {
    const regional = catalogs(folder({ 'de-AT.json': JSON.stringify({ 'login.heading': 'Anmelden, bitte' }), 'pt-br.json': '{}' }))
    expect(regional.locales).toEqual(['en', 'de', 'fr', 'de-AT', 'pt-BR'])
    const at = regional.translator('de-at')
    expect([at.locale, at.t('login.heading'), at.t('login.username')]).toEqual(['de-AT', 'Anmelden, bitte', 'Benutzername'])
  })

  it('scope descriptions per language: the adopter\'s catalog, ours while the description is ours, their English, the configured one', () => {
    expect(words.translator('en').scope('openid')).toBe('Sign you in with your Acme ID')
    expect(words.translator('de').scope('openid')).toBe('Sie mit Ihrer Kontokennung anmelden')
    expect(words.translator('nl').scope('openid')).toBe('U aanmelden met uw account')
    expect(words.translator('nl').scope('profile')).toBe('Your name and username')
    const own = catalogs(folder({ 'fr.json': JSON.stringify({ 'scope.orders:read': 'Lire vos commandes' }) }), 'en', {
      ...DEFAULT_SCOPES,
      profile: 'Your Acme profile',
      'orders:read': 'Read your orders',
    })
    expect(own.translator('de').scope('profile')).toBe('Your Acme profile')
    expect(own.translator('de').scope('email')).toBe('Ihre E-Mail-Adresse sehen und ob sie bestätigt ist')
    expect(own.translator('fr').scope('orders:read')).toBe('Lire vos commandes')
    expect(own.translator('de').scope('orders:read')).toBe('Read your orders')
    expect(own.translator('de').scope('unknown')).toBe('unknown')
  })

  it('pages.defaultLocale: a language with a catalog, looked up like a preference', () => {
    expect(catalogs(join(FIXTURES, 'messages'), 'nl').defaultLocale).toBe('nl')
    expect(catalogs(undefined, 'de-AT').defaultLocale).toBe('de')
    expect(startFailure(() => catalogs(undefined, 'es'))).toBe(
      'pages.defaultLocale: no catalog for "es" (languages: en, de, fr; add es.json to the pages.messages folder)',
    )
  })
})

describe('a catalog that cannot be used stops the start with its path and line', () => {
  it('JSON that does not parse', () => {
    const dir = folder({ 'de.json': '{\n  "login.heading": "Anmelden",\n  "login.submit": "Los"\n  "login.username": "Name"\n}\n' })
    expect(startFailure(() => catalogs(dir))).toMatch(new RegExp(`^${join(dir, 'de.json')}:4: not valid JSON: `))
    const cut = folder({ 'fr.json': '{\n  "login.heading": "Connexion",\n' })
    expect(startFailure(() => catalogs(cut))).toMatch(new RegExp(`^${join(cut, 'fr.json')}:3: not valid JSON: `))
  })

  it('a message that is not text, or a file that is not an object', () => {
    const dir = folder({ 'de.json': '{\n  "login.heading": "Anmelden",\n  "login.submit": { "text": "Los" }\n}\n' })
    expect(startFailure(() => catalogs(dir))).toBe(`${join(dir, 'de.json')}:3: the message "login.submit" is not text (a JSON string)`)
    const list = folder({ 'de.json': '["Anmelden"]' })
    expect(startFailure(() => catalogs(list))).toMatch(new RegExp(`^${join(list, 'de.json')}:1: a message catalog is a JSON object`))
  })

  it('a file name that is not a language, a language given twice, a folder that is not there', () => {
    const dir = folder({ 'de_DE.json': '{}' })
    expect(startFailure(() => catalogs(dir))).toBe(`${join(dir, 'de_DE.json')}: the file name is not a language tag (BCP 47), e.g. de.json or pt-BR.json`)
    const twice = folder({ 'pt-br.json': '{}', 'pt-BR.json': '{}' })
    expect(startFailure(() => catalogs(twice))).toMatch(/a second catalog for pt-BR$/)
    expect(startFailure(() => catalogs(join(dirs[0] ?? tmpdir(), 'missing')))).toMatch(/^pages\.messages: cannot read the folder .*missing: ENOENT$/)
  })
})
