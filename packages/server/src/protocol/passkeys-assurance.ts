/**
 * What an ID token says of how the user signed in (OIDC Core §2 `amr`, `acr`), and whether a
 * login session is strong enough for a request's `acr_values` (OIDC Core §3.1.2.1).
 *
 * `amr` (RFC 8176 §2):
 * - a password: `pwd`;
 * - a passkey: `hwk` or `swk`, with `user` (user verification is required for every passkey). The
 *   authenticator says whether the credential may leave it: a single-device credential (not
 *   backup eligible) keeps its key in the authenticator, `hwk`; a multi-device one (backup
 *   eligible: a synced passkey) is copied out to a sync service, `swk`. Nothing is attested
 *   (attestation `none`): this is the authenticator's word.
 *
 * `acr`, weakest to strongest: {@link ACR.password} for a password; `phr` (phishing-resistant,
 * OpenID EAP ACR Values §2) for a passkey, which only signs for its origin; `phrh` (phishing-
 * resistant and hardware-protected) for an `hwk` passkey.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8176#section-2
 * @see https://openid.net/specs/openid-connect-eap-acr-values-1_0.html
 */

/** The `acr` values the server issues. */
export const ACR = Object.freeze({
  password: 'urn:authcode:acr:password',
  passkey: 'phr',
  hardwarePasskey: 'phrh',
} as const)

/** The `amr` of a password sign-in, and of a login session from before `amr` was kept (all were by password). */
export const PASSWORD_AMR: readonly string[] = Object.freeze(['pwd'])

/** The `amr` of a passkey sign-in, by what the authenticator says of the credential (see above). */
export function passkeyAmr(deviceType: 'singleDevice' | 'multiDevice'): string[] {
  return [deviceType === 'singleDevice' ? 'hwk' : 'swk', 'user']
}

/** The `acr` of a sign-in made with `amr`. */
export function acrOf(amr: readonly string[] | undefined): string {
  if (amr?.includes('hwk') === true) return ACR.hardwarePasskey
  if (amr?.includes('swk') === true) return ACR.passkey
  return ACR.password
}

const LEVELS: Readonly<Record<string, number>> = { [ACR.password]: 0, [ACR.passkey]: 1, [ACR.hardwarePasskey]: 2 }

/** OIDC Discovery §3 `acr_values_supported`: the passkey values only while passkeys are on. */
export function acrValuesSupported(passkeys: boolean): string[] {
  return passkeys ? [ACR.password, ACR.passkey, ACR.hardwarePasskey] : [ACR.password]
}

/** `acr_values` (OIDC Core §3.1.2.1): space-separated, in order of preference; undefined when absent or empty. */
export function readAcrValues(value: string | undefined): string[] | undefined {
  const values = value?.split(' ').filter((item) => item !== '')
  return values === undefined || values.length === 0 ? undefined : values
}

/**
 * Whether a sign-in made with `amr` satisfies `acrValues`: every requested value is acceptable,
 * so the weakest one the server knows sets the bar (`phr` is met by `phrh`). Values the server
 * does not support are ignored (the claim is voluntary, OIDC Core §5.5.1.1); a request with none it
 * supports asks for nothing.
 */
export function satisfiesAcr(acrValues: readonly string[] | undefined, amr: readonly string[] | undefined, supported: readonly string[]): boolean {
  const levels = (acrValues ?? []).filter((value) => supported.includes(value)).map((value) => LEVELS[value] ?? 0)
  if (levels.length === 0) return true
  return (LEVELS[acrOf(amr)] ?? 0) >= Math.min(...levels)
}

/** Whether only a passkey can satisfy `acrValues` (the login page then offers a passkey alone). */
export function passkeyRequired(acrValues: readonly string[] | undefined, supported: readonly string[]): boolean {
  return !satisfiesAcr(acrValues, PASSWORD_AMR, supported)
}
