/**
 * The JWS algorithms the server signs with: the one list every other module reads (key creation,
 * signing, verification, metadata, client registration, the config schema, the CLI). A leaf: it
 * imports nothing, so anything may import it.
 *
 * `none` and HMAC are not in it and never can be (RFC 8725 §3.1, §3.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-3.1 RS256, ES256
 * @see https://www.rfc-editor.org/rfc/rfc8037#section-3.1 EdDSA
 */

/** The algorithms the server keeps a key for, in the order keys are created. */
export const SIGNING_ALGS = Object.freeze(['ES256', 'RS256', 'EdDSA'] as const)

/** One of {@link SIGNING_ALGS}. */
export type SigningAlg = (typeof SIGNING_ALGS)[number]

/** Whether `value` names one of {@link SIGNING_ALGS}. */
export function isSigningAlg(value: unknown): value is SigningAlg {
  return typeof value === 'string' && (SIGNING_ALGS as readonly string[]).includes(value)
}

/**
 * A client's `id_token_signed_response_alg` when it names none: RS256, which every OpenID Provider
 * must support and every relying party can verify.
 *
 * @see https://openid.net/specs/openid-connect-registration-1_0.html#ClientMetadata id_token_signed_response_alg
 * @see https://openid.net/specs/openid-connect-core-1_0.html#ServerMetadata RS256 must be supported
 */
export const DEFAULT_ID_TOKEN_ALG: SigningAlg = 'RS256'

/** The algorithms an ID token may be signed with: all of them, the default first (as metadata lists them). */
export const ID_TOKEN_ALGS: readonly SigningAlg[] = Object.freeze([
  DEFAULT_ID_TOKEN_ALG,
  ...SIGNING_ALGS.filter((alg) => alg !== DEFAULT_ID_TOKEN_ALG),
])

/**
 * The key each algorithm signs with, as `node:crypto` names it (`KeyObject.asymmetricKeyType`,
 * `asymmetricKeyDetails`): RSA of at least 2048 bits (RFC 7518 §3.3), P-256 (RFC 7518 §3.4), Ed25519
 * (RFC 8037 §3.1).
 */
export const SIGNING_KEY_TYPES: Readonly<
  Record<SigningAlg, { readonly type: 'rsa'; readonly minModulusLength: number } | { readonly type: 'ec'; readonly namedCurve: string } | { readonly type: 'ed25519' }>
> = Object.freeze({
  RS256: Object.freeze({ type: 'rsa', minModulusLength: 2048 }),
  ES256: Object.freeze({ type: 'ec', namedCurve: 'prime256v1' }),
  EdDSA: Object.freeze({ type: 'ed25519' }),
})
