/**
 * JWS signatures on a thread of their own. `crypto.sign` with a callback hands each signature to
 * libuv's thread pool, and every hand-off wakes a pool thread and, when it is done, the event loop:
 * in the benchmark's on-CPU profile of a code exchange (two signatures) that waking was about a
 * sixth of the event loop's time. Here the signatures asked for in one turn of the event loop go to
 * one worker thread in one message and come back in one message, so the event loop pays for two
 * messages per turn however many tokens that turn signs.
 *
 * The worker is unreferenced while nothing is waiting on it, so it never keeps a process alive,
 * and started again if it ever dies (the signatures it held fail, later ones go to the new one).
 */
import type { KeyObject } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import type { SigningAlg } from './algorithms.js'

/** One signature asked of the worker: `[keyId, alg, signing input]`, flattened into the batch. */
type Job = { keyId: number; alg: SigningAlg; input: string; resolve: (signature: string) => void; reject: (error: Error) => void }

/** What the worker answers for each job, in order: the signature (base64url) or why it failed. */
type Outcome = string | { error: string }

/**
 * How the worker signs under each algorithm, as worker source text: a function of the key to
 * `crypto.sign`'s digest and key arguments. One entry per algorithm of `algorithms.ts`, so a new
 * algorithm cannot be left out.
 */
const SIGN_ARGUMENTS: Readonly<Record<SigningAlg, string>> = {
  // RFC 7518 §3.4: R || S, 32 bytes each, not DER.
  ES256: `(key) => ['sha256', { key, dsaEncoding: 'ieee-p1363' }]`,
  // RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256.
  RS256: `(key) => ['sha256', { key, padding: constants.RSA_PKCS1_PADDING }]`,
  // RFC 8037 §3.1: Ed25519 hashes internally.
  EdDSA: `(key) => [null, key]`,
}

// Evaluated from this text (CommonJS, whatever flags the process was started with: `execArgv: []`),
// so it runs the same from src/ under the test runner as from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { constants, sign } = require('node:crypto')
const keys = new Map()
const options = {
${Object.entries(SIGN_ARGUMENTS)
  .map(([alg, signArguments]) => `  ${alg}: ${signArguments},`)
  .join('\n')}
}
parentPort.on('message', ({ newKeys, jobs }) => {
  for (const [id, key] of newKeys) keys.set(id, key)
  const outcomes = []
  for (let i = 0; i < jobs.length; i += 3) {
    try {
      const [digest, key] = options[jobs[i + 1]](keys.get(jobs[i]))
      outcomes.push(sign(digest, Buffer.from(jobs[i + 2], 'ascii'), key).toString('base64url'))
    } catch (error) {
      outcomes.push({ error: String(error && error.message) })
    }
  }
  parentPort.postMessage(outcomes)
})
`

class SigningThread {
  readonly #worker: Worker
  /** Keys this worker holds, by the id the jobs name them with. */
  readonly #keyIds = new WeakMap<KeyObject, number>()
  #nextKeyId = 0
  /** Keys first used this turn: they travel with its batch. */
  #newKeys: [number, KeyObject][] = []
  /** Jobs of this turn, not sent yet. */
  #queued: Job[] = []
  /** Batches sent, oldest first: the worker answers them in order. */
  readonly #sent: Job[][] = []
  #dead = false

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] })
    this.#worker.on('message', (outcomes: Outcome[]) => this.#settle(outcomes))
    this.#worker.on('error', () => {}) // an 'exit' follows
    this.#worker.once('exit', () => {
      this.#dead = true
      const error = new Error('the signing thread stopped')
      for (const batch of this.#sent.splice(0)) for (const job of batch) job.reject(error)
      for (const job of this.#queued.splice(0)) job.reject(error)
    })
    // After the listeners: adding a 'message' listener references the worker again.
    this.#worker.unref()
  }

  get dead(): boolean {
    return this.#dead
  }

  sign(alg: SigningAlg, key: KeyObject, input: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let keyId = this.#keyIds.get(key)
      if (keyId === undefined) {
        keyId = this.#nextKeyId++
        this.#keyIds.set(key, keyId)
        this.#newKeys.push([keyId, key])
      }
      this.#queued.push({ keyId, alg, input, resolve, reject })
      if (this.#queued.length === 1) setImmediate(() => this.#send())
    })
  }

  #send(): void {
    if (this.#dead || this.#queued.length === 0) return
    const batch = this.#queued
    this.#queued = []
    const jobs: (number | string)[] = []
    for (const { keyId, alg, input } of batch) jobs.push(keyId, alg, input)
    if (this.#sent.length === 0) this.#worker.ref() // someone is waiting: stay alive until they hear back
    this.#sent.push(batch)
    this.#worker.postMessage({ newKeys: this.#newKeys, jobs })
    this.#newKeys = []
  }

  #settle(outcomes: Outcome[]): void {
    const batch = this.#sent.shift() ?? []
    if (this.#sent.length === 0) this.#worker.unref()
    batch.forEach((job, i) => {
      const outcome = outcomes[i]
      if (typeof outcome === 'string') job.resolve(outcome)
      else job.reject(new TypeError(`signing failed: ${outcome?.error ?? 'no answer'}`))
    })
  }
}

let thread: SigningThread | undefined

/**
 * The base64url JWS signature of `input` (the ASCII signing input) with `key` under `alg`,
 * computed on the signing thread.
 *
 * @throws TypeError when signing fails (a key that does not fit `alg`); Error when the thread stopped.
 */
export function signOnSigningThread(alg: SigningAlg, key: KeyObject, input: string): Promise<string> {
  if (thread === undefined || thread.dead) thread = new SigningThread()
  return thread.sign(alg, key, input)
}
