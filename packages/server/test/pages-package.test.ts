/**
 * The pages as the package ships them (issue #17): the built-in templates, catalogs and stylesheet
 * are files of the package (`files` in package.json), found beside the built code (`dist/`) as
 * they are beside `src/` in the other tests; and `authcode serve` refuses to start on a broken
 * template, naming its file and line. Through the built CLI in a fresh working directory.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEMPLATE_NAMES } from '../src/interaction/templates.js'
import { MAIN, runCli, startServe } from './cli-process.js'
import { freePort } from './harness.js'

const PACKAGE = join(import.meta.dirname, '..')
const ROOT = join(PACKAGE, '../..')

const dirs: string[] = []
function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authcode-pages-'))
  dirs.push(dir)
  return dir
}

beforeAll(() => {
  // The CLI under test is the current source (npm test builds first as well).
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--build'], { cwd: ROOT, encoding: 'utf8' })
  if (!existsSync(MAIN)) throw new Error(`the CLI is not built (${MAIN} is missing)\n${build.stdout}${build.stderr}`)
}, 120_000)

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('the pages in the package', () => {
  it('npm pack ships every built-in template, catalog and the stylesheet', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE, encoding: 'utf8' })) as [{ files: { path: string }[] }]
    const shipped = pack.files.map((file) => file.path)
    expect(shipped).toEqual(expect.arrayContaining([
      'assets/style.css',
      ...TEMPLATE_NAMES.map((name) => `templates/${name}.eta`),
      'messages/en.json',
      'messages/de.json',
      'messages/fr.json',
      'dist/interaction/pages.js',
    ]))
    expect(shipped.filter((path) => path.startsWith('test/') || path.startsWith('docs/'))).toEqual([])
  })

  it('the built server finds them beside dist/: a German page, its stylesheet, the languages in discovery', async () => {
    const cwd = workdir()
    const port = await freePort()
    const served = await startServe(cwd, ['--port', String(port)], { env: { AUTHCODE_LOG_LEVEL: 'warn', AUTHCODE_PAGES_PRODUCT_NAME: 'Acme' } })
    try {
      const page = await fetch(`http://localhost:${port}/account`, { headers: { 'accept-language': 'de-DE,de;q=0.9' } })
      const html = await page.text()
      expect(page.status).toBe(200)
      expect(html).toContain('<html lang="de" dir="ltr">')
      expect(html).toContain('<title>Anmelden – Acme</title>')
      expect((await fetch(`http://localhost:${port}/assets/style.css`)).status).toBe(200)
      const metadata = (await (await fetch(`http://localhost:${port}/.well-known/openid-configuration`)).json()) as { ui_locales_supported: string[] }
      expect(metadata.ui_locales_supported).toEqual(['en', 'de', 'fr'])
    } finally {
      await served.stop()
    }
  }, 30_000)

  it('a broken template stops `authcode serve` with its file and line, exit code 1, before listening', async () => {
    const cwd = workdir()
    const templates = join(cwd, 'templates')
    mkdirSync(templates)
    writeFileSync(join(templates, 'login.eta'), "<% layout('@layout') %>\n<h1>Welcome</h1>\n<p><%= it.t('login.heading') </p>\n")
    const result = await runCli(cwd, ['serve', '--port', String(await freePort())], { env: { AUTHCODE_PAGES_TEMPLATES: 'templates' } })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`authcode: ${join(templates, 'login.eta')}:3: the template does not parse: unclosed tag at line 3 col 4:\n`)
    expect(result.stdout).not.toContain('authcode authorization server on')
  }, 30_000)
})
