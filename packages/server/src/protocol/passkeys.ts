/**
 * Passkeys (WebAuthn Level 3): adding one to an account, and signing in with one. Every WebAuthn
 * structure is read and verified by `@simplewebauthn/server`; this module decides what is asked
 * for and what is accepted:
 * - the relying party is the issuer: its host is the RP id, its origin the only origin accepted
 *   (a page of another origin, a sibling subdomain included, cannot use an assertion);
 * - credentials are discoverable and user verification is required, so a passkey alone signs in,
 *   no username typed (`amr` `user`, `passkeys-assurance.ts`);
 * - challenges are not stored: each is 128 random bits, its expiry and the server's MAC over both,
 *   its purpose and what it is bound to (the browser for a sign-in, the account and its login
 *   session for an addition). A challenge lives `CHALLENGE_LIFETIME` seconds and is spent once, in
 *   the store's replay table, after the assertion verified: an anonymous request writes nothing;
 * - the signature counter (WebAuthn §7.2 step 21) is checked by the store's compare-and-set
 *   (`usePasskey`), atomic on every instance: a counter that does not go up is a cloned
 *   authenticator (or the same assertion twice) and is refused;
 * - the passkey's account must still be usable (`liveAccount`): a disabled or removed user does
 *   not sign in, and removing a user removes the passkeys.
 *
 * @see https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server'
import { decodeClientDataJSON, isoBase64URL } from '@simplewebauthn/server/helpers'
import { liveAccount, mirrorAccount, type Account, type AccountDeps } from './accounts.js'
import { passkeyAmr } from './passkeys-assurance.js'
import { DuplicateError, type PasskeyRecord, type PasskeyStore, type ReplayStore, type UserStore } from './store.js'
import { hashToken, safeEqual } from '../tokens/secrets.js'

/** Seconds a challenge (and so a page's passkey button) stays usable. */
export const CHALLENGE_LIFETIME = 300

/** A passkey's name: what the user calls it on the account page. */
export const PASSKEY_NAME = Object.freeze({ maxLength: 64 })

/** The relying party (WebAuthn §5.4.2): the issuer's host and origin, and the name authenticators show. */
export interface RelyingParty {
  id: string
  origin: string
  name: string
}

/** The issuer's relying party: its host (no port) is the RP id, its origin the expected origin. */
export function relyingParty(issuer: string, name: string): RelyingParty {
  const url = new URL(issuer)
  return { id: url.hostname, origin: url.origin, name }
}

export interface PasskeyDeps extends AccountDeps {
  store: PasskeyStore & ReplayStore & UserStore
  passkeys: PasskeySettings
}

/** What the passkey steps need besides the stores: who the relying party is, and the key of its challenges. */
export interface PasskeySettings {
  rp: RelyingParty
  /** The MAC key of challenges (derived from the server's secret, the same on every instance). */
  challengeKey: Buffer
}

/** Why a passkey was refused (the `passkey.refused` event's `reason`); the page says the same for each. */
export type PasskeyRefusal =
  /** Not a WebAuthn response the library could read, or one of the wrong kind. */
  | 'malformed'
  /** The assertion was made for another origin or RP id (a phishing page, a sibling subdomain). */
  | 'foreign_origin'
  /** The challenge is not one the server made for this purpose and browser (or account). */
  | 'bad_challenge'
  /** The challenge is older than `CHALLENGE_LIFETIME`. */
  | 'expired_challenge'
  /** The challenge was spent already: the same response sent again. */
  | 'replayed'
  /** No passkey has this credential id (removed, or never registered here). */
  | 'unknown_credential'
  /** The passkey's account is disabled or gone. */
  | 'account_unusable'
  /** The signature, the user verification or the user handle did not verify. */
  | 'not_verified'
  /** The signature counter did not go up: a cloned authenticator (WebAuthn §6.1.1). */
  | 'counter'
  /** The credential is registered already. */
  | 'duplicate'

type Purpose = 'authenticate' | 'register'

const RANDOM_BYTES = 16

/** The WebAuthn user handle of an account: a hash of its id, so it is at most 64 bytes (WebAuthn §5.4.3) and names no one. */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(`authcode user handle\0${userId}`).digest())
}

function challengeMac(key: Buffer, purpose: Purpose, binding: string, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(`authcode webauthn challenge\0${purpose}\0${binding}\0`).update(payload).digest()
}

/** A new challenge: random bits and an expiry, with the server's MAC over them, its purpose and `binding`. */
function makeChallenge(settings: PasskeySettings, purpose: Purpose, binding: string, now: number): Uint8Array<ArrayBuffer> {
  const payload = Buffer.alloc(RANDOM_BYTES + 8)
  randomBytes(RANDOM_BYTES).copy(payload)
  payload.writeBigUInt64BE(BigInt(now + CHALLENGE_LIFETIME), RANDOM_BYTES)
  return new Uint8Array(Buffer.concat([payload, challengeMac(settings.challengeKey, purpose, binding, payload)]))
}

type ChallengeCheck = { kind: 'valid'; expiresAt: number } | { kind: 'bad_challenge' } | { kind: 'expired_challenge' }

/** Whether `challenge` (base64url, as the client data carries it) is one the server made for this purpose and binding, and still lives. */
function checkChallenge(settings: PasskeySettings, challenge: string, purpose: Purpose, binding: string, now: number): ChallengeCheck {
  const bytes = isoBase64URL.isBase64URL(challenge) ? Buffer.from(isoBase64URL.toBuffer(challenge)) : Buffer.alloc(0)
  if (bytes.length !== RANDOM_BYTES + 8 + 32) return { kind: 'bad_challenge' }
  const payload = bytes.subarray(0, RANDOM_BYTES + 8)
  const mac = challengeMac(settings.challengeKey, purpose, binding, payload)
  if (!safeEqual(bytes.subarray(RANDOM_BYTES + 8).toString('base64url'), mac.toString('base64url'))) return { kind: 'bad_challenge' }
  const expiresAt = Number(payload.readBigUInt64BE(RANDOM_BYTES))
  return now >= expiresAt ? { kind: 'expired_challenge' } : { kind: 'valid', expiresAt }
}

/** Spends the challenge: true the first time, on every instance. */
const spendChallenge = (store: ReplayStore, challenge: string, expiresAt: number): Promise<boolean> => store.useOnce(hashToken(`webauthn challenge\0${challenge}`), expiresAt)

/** The JSON a browser posted as the credential, when it is an object with a string `id`; else undefined. */
function readCredential<T extends { id: string }>(text: string | undefined): T | undefined {
  if (text === undefined || text.length > 64 * 1024) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || typeof (value as { id?: unknown }).id !== 'string') return undefined
  const response = (value as { response?: unknown }).response
  if (typeof response !== 'object' || response === null || typeof (response as { clientDataJSON?: unknown }).clientDataJSON !== 'string') return undefined
  return value as T
}

/**
 * WebAuthn §7.1 steps 7–9 and §7.2 steps 11–13, before the library's own checks: the client data's
 * type, origin and challenge, so that each refusal has its reason. The challenge's check needs
 * nothing stored.
 */
function checkClientData(
  settings: PasskeySettings,
  clientDataJSON: string,
  expected: { type: 'webauthn.get' | 'webauthn.create'; purpose: Purpose; binding: string; now: number },
): { kind: 'valid'; challenge: string; expiresAt: number } | { kind: PasskeyRefusal } {
  let clientData
  try {
    clientData = decodeClientDataJSON(clientDataJSON)
  } catch {
    return { kind: 'malformed' }
  }
  if (clientData.type !== expected.type || typeof clientData.challenge !== 'string') return { kind: 'malformed' }
  if (clientData.origin !== settings.rp.origin || clientData.crossOrigin === true) return { kind: 'foreign_origin' }
  const check = checkChallenge(settings, clientData.challenge, expected.purpose, expected.binding, expected.now)
  return check.kind === 'valid' ? { kind: 'valid', challenge: clientData.challenge, expiresAt: check.expiresAt } : check
}

// ---------------------------------------------------------------------------------------------
// Signing in

/**
 * The options of a sign-in with any passkey of this site (WebAuthn §5.5): no credentials listed
 * (discoverable ones: the authenticator offers them, no username needed), user verification
 * required, a challenge bound to this browser (`browserHash`).
 */
export function signInOptions(settings: PasskeySettings, browserHash: string, now: number): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: settings.rp.id,
    challenge: makeChallenge(settings, 'authenticate', browserHash, now),
    userVerification: 'required',
    timeout: CHALLENGE_LIFETIME * 1000,
  })
}

export type PasskeySignIn =
  | { kind: 'valid'; user: Account; amr: string[] }
  /** `userId`: the passkey's account, when the credential was found. */
  | { kind: 'refused'; reason: PasskeyRefusal; userId: string | null }

/**
 * Verifies a sign-in with a passkey (WebAuthn §7.2): `credential` is the JSON the browser posted
 * (`PublicKeyCredential.toJSON()`), made in the browser `browserHash` for a challenge of
 * {@link signInOptions}. On success the challenge is spent, the passkey's counter and last use
 * recorded, and the account returned with the `amr` of the sign-in.
 */
export async function verifyPasskeySignIn(deps: PasskeyDeps, input: { credential: string | undefined; browserHash: string; now: number }): Promise<PasskeySignIn> {
  const { now } = input
  const settings = deps.passkeys
  const refused = (reason: PasskeyRefusal, userId: string | null = null): PasskeySignIn => ({ kind: 'refused', reason, userId })
  const response = readCredential<AuthenticationResponseJSON>(input.credential)
  if (response === undefined) return refused('malformed')
  const clientData = checkClientData(settings, response.response.clientDataJSON, { type: 'webauthn.get', purpose: 'authenticate', binding: input.browserHash, now })
  if (clientData.kind !== 'valid') return refused(clientData.kind)

  const passkey = await deps.store.getPasskey(response.id)
  if (passkey === undefined) return refused('unknown_credential')
  const account = await liveAccount(deps, passkey.userId, now)
  if (account === undefined) return refused('account_unusable', passkey.userId)
  // §7.2 step 6: a user handle, when given, must be the passkey's account's.
  const handle = response.response.userHandle
  if (handle !== undefined && handle !== isoBase64URL.fromBuffer(userHandle(passkey.userId))) return refused('not_verified', passkey.userId)

  let verified
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: clientData.challenge,
      expectedOrigin: settings.rp.origin,
      expectedRPID: settings.rp.id,
      // The counter is checked below, by the store's compare-and-set (atomic on every instance), not by the library's read-then-compare.
      credential: { id: passkey.credentialId, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: 0, transports: passkey.transports as AuthenticatorTransportFuture[] },
      requireUserVerification: true,
    })
  } catch {
    return refused('not_verified', passkey.userId)
  }
  if (!verified.verified) return refused('not_verified', passkey.userId)
  const info = verified.authenticationInfo
  if (!(await spendChallenge(deps.store, clientData.challenge, clientData.expiresAt))) return refused('replayed', passkey.userId)
  // §7.2 step 21: a counter that does not go up is a cloned authenticator.
  if (!(await deps.store.usePasskey(passkey.credentialId, info.newCounter, info.credentialBackedUp, now))) return refused('counter', passkey.userId)
  await mirrorAccount(deps, account, now)
  return { kind: 'valid', user: account, amr: passkeyAmr(info.credentialDeviceType) }
}

// ---------------------------------------------------------------------------------------------
// Adding a passkey to an account

/** What an addition is bound to: the account, in the login session that asked. */
const registrationBinding = (userId: string, sessionHash: string) => `${userId}\0${sessionHash}`

/**
 * The options of a new passkey for `account` (WebAuthn §5.4): a discoverable credential with user
 * verification, no attestation, none of the account's passkeys again, and a challenge bound to
 * the account and its login session.
 */
export async function additionOptions(
  deps: Pick<PasskeyDeps, 'store' | 'passkeys'>,
  input: { account: Account; displayName: string; sessionHash: string; now: number },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { account, now } = input
  const settings = deps.passkeys
  const existing = await deps.store.listPasskeys(account.id)
  return generateRegistrationOptions({
    rpName: settings.rp.name,
    rpID: settings.rp.id,
    userName: account.username,
    userDisplayName: input.displayName,
    userID: userHandle(account.id),
    challenge: makeChallenge(settings, 'register', registrationBinding(account.id, input.sessionHash), now),
    timeout: CHALLENGE_LIFETIME * 1000,
    attestationType: 'none',
    excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: passkey.transports as AuthenticatorTransportFuture[] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  })
}

/** A passkey's name as the user typed it: trimmed, no control characters, at most `PASSKEY_NAME.maxLength`; undefined when unusable. */
export function passkeyName(value: string | undefined): string | undefined {
  const name = value?.trim()
  // eslint-disable-next-line no-control-regex
  if (name === undefined || name === '' || name.length > PASSKEY_NAME.maxLength || /[\u0000-\u001f\u007f]/.test(name)) return undefined
  return name
}

export type PasskeyAdded = { kind: 'added'; passkey: PasskeyRecord } | { kind: 'refused'; reason: PasskeyRefusal }

/**
 * Verifies and keeps a new passkey of `account` (WebAuthn §7.1): `credential` is the JSON the
 * browser posted for a challenge of {@link additionOptions} in the same login session.
 */
export async function addPasskey(
  deps: Pick<PasskeyDeps, 'store' | 'passkeys'>,
  input: { account: Account; sessionHash: string; credential: string | undefined; name: string; now: number },
): Promise<PasskeyAdded> {
  const { account, now } = input
  const settings = deps.passkeys
  const response = readCredential<RegistrationResponseJSON>(input.credential)
  if (response === undefined) return { kind: 'refused', reason: 'malformed' }
  const binding = registrationBinding(account.id, input.sessionHash)
  const clientData = checkClientData(settings, response.response.clientDataJSON, { type: 'webauthn.create', purpose: 'register', binding, now })
  if (clientData.kind !== 'valid') return { kind: 'refused', reason: clientData.kind }
  let verified
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: clientData.challenge,
      expectedOrigin: settings.rp.origin,
      expectedRPID: settings.rp.id,
      requireUserVerification: true,
    })
  } catch {
    return { kind: 'refused', reason: 'not_verified' }
  }
  if (!verified.verified) return { kind: 'refused', reason: 'not_verified' }
  if (!(await spendChallenge(deps.store, clientData.challenge, clientData.expiresAt))) return { kind: 'refused', reason: 'replayed' }
  const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo
  const passkey: PasskeyRecord = {
    credentialId: credential.id,
    userId: account.id,
    publicKey: isoBase64URL.fromBuffer(credential.publicKey),
    counter: credential.counter,
    transports: credential.transports ?? [],
    name: input.name,
    deviceType: credentialDeviceType,
    backedUp: credentialBackedUp,
    createdAt: now,
    lastUsedAt: null,
  }
  try {
    await deps.store.createPasskey(passkey)
  } catch (error) {
    if (error instanceof DuplicateError) return { kind: 'refused', reason: 'duplicate' }
    throw error
  }
  return { kind: 'added', passkey }
}
