/**
 * A software WebAuthn authenticator for tests without a browser: it answers the server's options
 * as a platform authenticator would (ES256, user present and verified, a discoverable credential),
 * and lets a test make what a real one never does: another origin, another RP id, a counter that
 * goes back (a clone), a response sent twice. It only writes WebAuthn structures (CBOR through
 * `@simplewebauthn/server`'s own encoder); reading and verifying them is the server's job.
 * The real browser test is `test/e2e/passkeys.test.ts`.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers'

const b64 = (bytes: Uint8Array): string => isoBase64URL.fromBuffer(new Uint8Array(bytes))
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest()

/** The flags of authenticator data (WebAuthn §6.1). */
const FLAGS = { up: 0x01, uv: 0x04, be: 0x08, bs: 0x10, at: 0x40 }

export interface CeremonyOptions {
  /** The page's origin as the browser would report it (default: the issuer's). */
  origin?: string
  /** The RP id the authenticator signs for (default: the options' `rpId`/`rp.id`). */
  rpId?: string
  /** Leave the user-verified flag unset. */
  unverified?: boolean
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16)
  readonly #privateKey: KeyObject
  readonly #cosePublicKey: Uint8Array
  /** The signature counter of the next assertion; a test may set it back (a clone). */
  counter = 0
  /** Backup eligible (a synced passkey: `swk`) or not (`hwk`). */
  readonly backupEligible: boolean
  /** The user handle the server gave at registration. */
  userHandle: string | undefined

  constructor(options: { backupEligible?: boolean } = {}) {
    this.backupEligible = options.backupEligible ?? false
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.#privateKey = privateKey
    const jwk = publicKey.export({ format: 'jwk' })
    // COSE_Key (RFC 9053 §7.1.1): kty EC2, alg ES256, crv P-256, x, y.
    this.#cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, isoBase64URL.toBuffer(jwk.x as string)],
        [-3, isoBase64URL.toBuffer(jwk.y as string)],
      ]),
    )
  }

  get id(): string {
    return b64(this.credentialId)
  }

  #authenticatorData(rpId: string, flags: number, attested: boolean): Buffer {
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    const backup = this.backupEligible ? FLAGS.be | FLAGS.bs : 0
    const parts = [sha256(rpId), Buffer.from([flags | backup | (attested ? FLAGS.at : 0)]), counter]
    if (attested) {
      const length = Buffer.alloc(2)
      length.writeUInt16BE(this.credentialId.length)
      parts.push(Buffer.alloc(16), length, this.credentialId, Buffer.from(this.#cosePublicKey))
    }
    return Buffer.concat(parts)
  }

  #clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }))
  }

  /** The browser's JSON for `navigator.credentials.create()` with the server's options (as the page's data-options carry them). */
  register(options: { challenge: string; rp: { id?: string }; user: { id: string } }, origin: string, ceremony: CeremonyOptions = {}): string {
    const flags = FLAGS.up | (ceremony.unverified === true ? 0 : FLAGS.uv)
    const authData = this.#authenticatorData(ceremony.rpId ?? options.rp.id ?? new URL(origin).hostname, flags, true)
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    )
    this.userHandle = options.user.id
    return JSON.stringify({
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64(this.#clientData('webauthn.create', options.challenge, ceremony.origin ?? origin)),
        attestationObject: b64(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
    })
  }

  /** The browser's JSON for `navigator.credentials.get()`; each call counts one more use, as an authenticator does. */
  assert(options: { challenge: string; rpId?: string }, origin: string, ceremony: CeremonyOptions = {}): string {
    this.counter += 1
    const flags = FLAGS.up | (ceremony.unverified === true ? 0 : FLAGS.uv)
    const authData = this.#authenticatorData(ceremony.rpId ?? options.rpId ?? new URL(origin).hostname, flags, false)
    const clientData = this.#clientData('webauthn.get', options.challenge, ceremony.origin ?? origin)
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.#privateKey)
    return JSON.stringify({
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64(clientData),
        authenticatorData: b64(authData),
        signature: b64(signature),
        ...(this.userHandle === undefined ? {} : { userHandle: this.userHandle }),
      },
      clientExtensionResults: {},
    })
  }
}

/** The WebAuthn options a page carries in its passkey form (`data-options`), decoded. */
export function pageOptions<T>(html: string): T {
  const match = /id="passkey-form"[^>]*data-options="([^"]*)"/.exec(html)
  if (match?.[1] === undefined) throw new Error('no passkey form in page')
  return JSON.parse(match[1].replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')) as T
}

/** The action of the page's passkey form. */
export function passkeyAction(html: string): string {
  const match = /<form method="post" action="([^"]+)" id="passkey-form"/.exec(html)
  if (match?.[1] === undefined) throw new Error('no passkey form in page')
  return match[1]
}
