/** Debian's Chromium for the browser tests, launched the one way this machine allows (no downloads, no outside network). */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { describe, it } from 'vitest'

export const CHROMIUM = '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)
export const NO_CHROMIUM = `skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
}

/** `describe(title, body)` when Chromium is here; otherwise one skipped test that says why. */
export function describeInChromium(title: string, body: () => void): void {
  if (hasChromium) describe(title, body)
  else describe(title, () => it.skip(NO_CHROMIUM, () => {}))
}
