/**
 * Request parameters as RFC 6749 reads them: `application/x-www-form-urlencoded`, UTF-8, each
 * parameter at most once (§3.1, §3.2), empty values treated as omitted (OAuth 2.1 §3.1).
 *
 * Decoding is strict: a malformed percent escape, invalid UTF-8 or a control character is an
 * `invalid_request`, never a silent replacement character that could later compare equal to
 * something else.
 */
import { invalidRequest } from './errors.js'

/** Upper bounds checked before any lookup; bodies beyond 64 KiB are refused by the HTTP layer. */
export const LIMITS = Object.freeze({
  /** Longest accepted parameter value, in characters (after decoding). */
  valueLength: 8 * 1024,
  /** Most parameters in one request. */
  count: 100,
})

// C0 controls and DEL. TAB, CR and LF are included: no OAuth parameter carries them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** Parameters of one request. Repeated names keep every value so that `single()` can refuse them. */
export class Params {
  readonly #values: ReadonlyMap<string, readonly string[]>

  constructor(values: ReadonlyMap<string, readonly string[]>) {
    this.#values = values
  }

  static empty(): Params {
    return new Params(new Map())
  }

  /**
   * The value of a parameter that may appear at most once; `undefined` when absent or empty
   * (OAuth 2.1 §3.1: "Parameters sent without a value MUST be treated as if they were omitted").
   */
  single(name: string): string | undefined {
    const values = this.#values.get(name)
    if (values === undefined) return undefined
    if (values.length > 1) throw invalidRequest(`parameter ${name} is included more than once`)
    const value = values[0]
    return value === '' ? undefined : value
  }

  /** Like `single`, but absent is an error. */
  required(name: string): string {
    const value = this.single(name)
    if (value === undefined) throw invalidRequest(`parameter ${name} is missing`)
    return value
  }

  /**
   * Every non-empty value of a parameter that may repeat (RFC 8707 §2 `resource`), in order.
   */
  all(name: string): readonly string[] {
    return (this.#values.get(name) ?? []).filter((value) => value !== '')
  }

  has(name: string): boolean {
    return this.#values.has(name)
  }

  names(): IterableIterator<string> {
    return this.#values.keys()
  }

  /** Parameters of both maps; a name present in both is a duplicate (e.g. query and body of a POST). */
  merge(other: Params): Params {
    const merged = new Map<string, string[]>()
    for (const source of [this.#values, other.#values]) {
      for (const [name, values] of source) merged.set(name, [...(merged.get(name) ?? []), ...values])
    }
    return new Params(merged)
  }
}

function decodeComponent(raw: string): string {
  let decoded: string
  try {
    decoded = decodeURIComponent(raw.replaceAll('+', ' '))
  } catch {
    // URIError: a malformed escape or bytes that are not UTF-8 (overlong forms, surrogates).
    throw invalidRequest('request parameters are not valid percent-encoded UTF-8')
  }
  if (CONTROL.test(decoded)) throw invalidRequest('request parameters must not contain control characters')
  return decoded
}

/** Parses a query string or form body (without the leading `?`). */
export function parseParams(encoded: string): Params {
  const values = new Map<string, string[]>()
  if (encoded === '') return new Params(values)
  const pairs = encoded.split('&')
  if (pairs.length > LIMITS.count) throw invalidRequest('too many request parameters')
  for (const pair of pairs) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq))
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1))
    if (value.length > LIMITS.valueLength) throw invalidRequest(`parameter ${safeName(name)} is too long`)
    const list = values.get(name)
    if (list === undefined) values.set(name, [value])
    else list.push(value)
  }
  return new Params(values)
}

/** A parameter name as it may appear in an error_description (RFC 6749 §5.2 charset, bounded). */
function safeName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(unnamed)'
}

/** The query part of a request target, without the `?`. */
export function queryOf(url: string): string {
  // RFC 3986 §3.5: the fragment ends the URI's other parts; a `?` inside it starts no query.
  const hash = url.indexOf('#')
  const end = hash === -1 ? url.length : hash
  const q = url.indexOf('?')
  return q === -1 || q > end ? '' : url.slice(q + 1, end)
}
