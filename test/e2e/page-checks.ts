/**
 * What every browser test of a page people look at does: keep a screenshot as a test artifact and
 * run axe-core (the real tool, injected through the DevTools protocol, so the page's strict CSP
 * stays on) for labels, contrast, keyboard use and the rest of WCAG 2.1 A/AA.
 */
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'

/** `test-artifacts/screenshots/` at the repository root (git-ignored; CI keeps it as an artifact). */
export const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts', 'screenshots')

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  targets: string[]
}

/** axe-core's violations on the page as it is now (WCAG 2.0/2.1 A and AA rules and best practices). */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  // page.evaluate runs through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    interface AxeResult {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[]
    }
    // The page's globals, typed here: the test code is compiled without the DOM library.
    const page = globalThis as unknown as { axe: { run(context: object, options: object): Promise<AxeResult> }; document: object }
    const result = await page.axe.run(page.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }))
  })
}
