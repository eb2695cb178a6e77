/**
 * `ui_locales` (OIDC Core §3.1.2.1): "End-User's preferred languages and scripts for the user
 * interface, represented as a space-separated list of BCP47 [RFC5646] language tag values,
 * ordered by preference." Only a preference: "An error SHOULD NOT result if some or all of the
 * requested locales are not supported", so a value that is not a tag is dropped, never refused.
 */

/** The shape of a BCP 47 language tag (RFC 5646 §2.1, without checking the registry): `de`, `pt-BR`, `zh-Hant-TW`. */
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/

/** Whether `value` has the shape of a BCP 47 language tag. */
export function isLanguageTag(value: string): boolean {
  return value.length <= 35 && LANGUAGE_TAG.test(value)
}

/** At most this many preferences are kept: the request is stored with its interaction. */
export const MAX_UI_LOCALES = 10

/**
 * The language tags of a `ui_locales` value, in order; undefined when it is absent or holds none.
 * Anything that is not a tag is skipped; at most `MAX_UI_LOCALES` are kept.
 */
export function readUiLocales(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const tags = value.split(' ').filter(isLanguageTag).slice(0, MAX_UI_LOCALES)
  return tags.length === 0 ? undefined : tags
}
