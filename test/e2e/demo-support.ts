/** What the demo-app browser tests share: proving that no token ever reaches the browser. */
import { MemoryTokenStore, type SessionRecord } from '@authcode/client'
import type { Page } from 'playwright-core'

/** Remembers every token (and session key) the app stored, to prove none reaches the browser. */
export class RecordingStore extends MemoryTokenStore {
  readonly tokens = new Set<string>()
  readonly keys = new Set<string>()

  override async set(key: string, record: SessionRecord): Promise<void> {
    this.keys.add(key)
    for (const token of [record.tokens.accessToken, record.tokens.refreshToken, record.tokens.idToken]) {
      if (token !== undefined) this.tokens.add(token)
    }
    return super.set(key, record)
  }
}

/**
 * Watches a page from now on: `blocked` collects CSP violations reported on its console, `urls`
 * every URL it requested; `visible()` is everything the browser holds — the page, every URL it requested, its cookies.
 */
export function watchPage(page: Page): { blocked: string[]; urls: string[]; visible(): Promise<string> } {
  const blocked: string[] = []
  const urls: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(message.text())
  })
  page.on('request', (request) => urls.push(request.url()))
  const visible = async () => [await page.content(), ...urls, ...(await page.context().cookies()).map((c) => `${c.name}=${c.value}`)].join('\n')
  return { blocked, urls, visible }
}
