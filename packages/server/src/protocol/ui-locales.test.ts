import { describe, expect, it } from 'vitest'
import { MAX_UI_LOCALES, readUiLocales } from './ui-locales.js'

describe('OIDC Core §3.1.2.1 ui_locales', () => {
  it('space-separated language tags, in order', () => {
    expect(readUiLocales('fr-CA fr en')).toEqual(['fr-CA', 'fr', 'en'])
    expect(readUiLocales(undefined)).toBeUndefined()
  })

  it('"An error SHOULD NOT result": what is not a tag is dropped, and at most a few are kept', () => {
    expect(readUiLocales('fr <script> de_DE  en')).toEqual(['fr', 'en'])
    expect(readUiLocales('   ')).toBeUndefined()
    expect(readUiLocales(`${'x'.repeat(40)} de`)).toEqual(['de'])
    expect(readUiLocales(Array(50).fill('de').join(' '))).toHaveLength(MAX_UI_LOCALES)
  })
})
