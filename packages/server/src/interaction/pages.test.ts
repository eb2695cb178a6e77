/**
 * What the pages are made of is read and checked when the app is built: an adopter's template,
 * logo or stylesheet that cannot be used stops the start with the file (and line), never the
 * first sign-in. (Rendering itself is tested over HTTP: test/http/pages.test.ts.)
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../config/errors.js'
import { DEFAULT_SCOPES, type PagesConfig } from '../config/load.js'
import { accentCss, contrast } from './branding.js'
import { Pages } from './pages.js'

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/pages')

const dirs: string[] = []
function folder(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-pages-'))
  dirs.push(dir)
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const settings = (given: Partial<PagesConfig> = {}): PagesConfig => ({
  productName: 'authcode',
  logo: undefined,
  stylesheet: undefined,
  accentColor: undefined,
  templates: undefined,
  messages: undefined,
  defaultLocale: 'en',
  passkeys: true,
  ...given,
})

const build = (given: Partial<PagesConfig> = {}) => new Pages(settings(given), DEFAULT_SCOPES, '')

function startFailure(given: Partial<PagesConfig>): string {
  try {
    build(given)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('pages.templates: the adopter\'s templates, checked at start', () => {
  it('a good folder is taken: its templates replace ours, the others are partials', () => {
    const pages = build({ templates: join(FIXTURES, 'templates'), messages: join(FIXTURES, 'messages') })
    expect([...pages.notes.overrides.keys()]).toEqual(['help', 'login'])
  })

  it('an unclosed tag: the file and the line', () => {
    const dir = folder({ 'consent.eta': '<% layout(\'@layout\') %>\n<h1>Allow?</h1>\n<p><%= it.clientName </p>\n' })
    expect(startFailure({ templates: dir })).toBe(`${join(dir, 'consent.eta')}:3: the template does not parse: unclosed tag at line 3 col 4:`)
  })

  it('JavaScript that does not compile: the file and the line of the tag', () => {
    const dir = folder({ 'home.eta': '<% layout(\'@layout\') %>\n<h1>Home</h1>\n\n<p><%= it.issuer + %></p>\n' })
    expect(startFailure({ templates: dir })).toMatch(new RegExp(`^${join(dir, 'home.eta')}:4: the template does not compile: Unexpected token`))
    const unclosed = folder({ 'message.eta': '<% layout(\'@layout\') %>\n<% if (it.isError) { %>\n<p><%= it.message %></p>\n' })
    expect(startFailure({ templates: unclosed })).toMatch(new RegExp(`^${join(unclosed, 'message.eta')}:3: the template does not compile: .*an unclosed \\{`))
  })

  it('a template that fails on the data it is given: its own file and line, even as a partial of another', () => {
    const dir = folder({ 'account-apps.eta': '<section>\n<% it.apps.forEach(function (app) { %>\n<p><%= app.client.name %></p>\n<% }) %>\n</section>\n' })
    expect(startFailure({ templates: dir })).toBe(
      `${join(dir, 'account-apps.eta')}:3: the account page's template fails with the data it is given: Cannot read properties of undefined (reading 'name')`,
    )
    const missing = folder({ 'login.eta': '<% layout(\'@layout\') %>\n<%~ include(\'@footer\') %>\n' })
    expect(startFailure({ templates: missing })).toMatch(new RegExp(`^${join(missing, 'login.eta')}:2: the login page's template fails .*@footer`))
  })

  it('a template name of other characters, and a folder that is not there', () => {
    const dir = folder({ 'log in.eta': '' })
    expect(startFailure({ templates: dir })).toBe(`${join(dir, 'log in.eta')}: a template's name is letters, digits, - and _ (login.eta)`)
    expect(startFailure({ templates: join(dir, 'nowhere') })).toMatch(/^pages\.templates: cannot read the folder .*nowhere: ENOENT$/)
  })
})

describe('pages.logo, pages.stylesheet, pages.accentColor', () => {
  it('a logo of a type the server does not serve, a file that is not there, one too large', () => {
    const dir = folder({ 'logo.bmp': Buffer.alloc(10), 'huge.png': Buffer.alloc(1024 * 1024 + 1) })
    expect(startFailure({ logo: join(dir, 'logo.bmp') })).toMatch(/^pages\.logo: .*logo\.bmp: not an image this server serves \(\.svg, \.png/)
    expect(startFailure({ logo: join(dir, 'logo.png') })).toMatch(/^pages\.logo: cannot read .*logo\.png: ENOENT$/)
    expect(startFailure({ logo: join(dir, 'huge.png') })).toMatch(/^pages\.logo: .*huge\.png is larger than 1024 KiB$/)
    expect(startFailure({ stylesheet: join(dir, 'brand.css') })).toMatch(/^pages\.stylesheet: cannot read .*brand\.css: ENOENT$/)
    const ok = folder({})
    copyFileSync(join(FIXTURES, 'logo.svg'), join(ok, 'Logo.SVG'))
    expect(() => build({ logo: join(ok, 'Logo.SVG'), stylesheet: join(FIXTURES, 'brand.css') })).not.toThrow()
  })

  it('the accent sets buttons and links; the text on buttons is whichever of white and ink reads better', () => {
    expect(accentCss('#0b6e4f')).toContain('--accent: #0b6e4f; --accent-ink: #fff;')
    expect(accentCss('#ffd43b')).toContain('--accent: #ffd43b; --accent-ink: #1d2330;')
    expect(contrast('#ffffff', '#000000')).toBeCloseTo(21)
    expect(contrast('#1f5fd1', '#ffffff')).toBeGreaterThan(4.5)
  })

  it('an accent too light for links on white is a warning at start, not a refusal', () => {
    expect(build({ accentColor: '#ffd43b' }).notes.warnings).toEqual([expect.stringMatching(/^pages\.accentColor #ffd43b has a contrast of 1\.\d:1 on white, below the 4\.5:1/)])
    expect(build({ accentColor: '#0b6e4f' }).notes.warnings).toEqual([])
  })
})
