/**
 * The floor of this machine (issue 6, workload 6): a bare node:http token endpoint doing only the
 * unavoidable work of a code exchange: read and parse the form, one SQLite transaction (WAL,
 * synchronous=NORMAL) that consumes the code and records the access token, and two Ed25519
 * signatures (access token and ID token). Mode `sync` signs on the event loop; `pool` signs with
 * `crypto.sign(..., callback)`, which runs on the libuv thread pool (the second core).
 *
 * argv: port, database path, mode.
 */
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { createServer } from 'node:http'
import Database from 'better-sqlite3'

const [portArg, dbPath, mode] = process.argv.slice(2)
const db = new Database(dbPath as string)
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec(`CREATE TABLE IF NOT EXISTS codes (code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, consumed_at INTEGER);
CREATE TABLE IF NOT EXISTS access_tokens (jti TEXT PRIMARY KEY, code_hash TEXT NOT NULL, created_at INTEGER NOT NULL)`)
const consume = db.prepare('UPDATE codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL RETURNING user_id')
const record = db.prepare('INSERT INTO access_tokens (jti, code_hash, created_at) VALUES (?, ?, ?)')
const redeem = db.transaction((codeHash: string, jti: string, now: number): string | undefined => {
  const row = consume.get(now, codeHash) as { user_id: string } | undefined
  if (row === undefined) return undefined
  record.run(jti, codeHash, now)
  return row.user_id
})

const { privateKey } = generateKeyPairSync('ed25519')
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const HEADER = b64({ alg: 'EdDSA', kid: 'floor' })

function signSync(payload: object): string {
  const input = `${HEADER}.${b64(payload)}`
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`
}

function signPool(payload: object): Promise<string> {
  const input = `${HEADER}.${b64(payload)}`
  return new Promise((resolve, reject) =>
    sign(null, Buffer.from(input), privateKey, (err, sig) => (err ? reject(err) : resolve(`${input}.${sig.toString('base64url')}`))),
  )
}

function reply(res: import('node:http').ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

createServer((req, res) => {
  if (req.method === 'GET') return reply(res, 200, { floor: mode })
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    const code = form.get('code')
    if (code === null || form.get('grant_type') !== 'authorization_code') return reply(res, 400, { error: 'invalid_request' })
    const codeHash = createHash('sha256').update(code).digest('base64url')
    const now = Math.floor(Date.now() / 1000)
    const jti = randomUUID()
    const sub = redeem(codeHash, jti, now)
    if (sub === undefined) return reply(res, 400, { error: 'invalid_grant' })
    const at = { iss: 'floor', sub, aud: 'floor', client_id: 'floor', scope: 'openid', iat: now, exp: now + 600, jti }
    const id = { iss: 'floor', sub, aud: 'floor', iat: now, exp: now + 3600, nonce: 'n' }
    if (mode === 'pool') {
      Promise.all([signPool(at), signPool(id)]).then(
        ([accessToken, idToken]) => reply(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 600, id_token: idToken }),
        () => reply(res, 500, { error: 'server_error' }),
      )
    } else {
      reply(res, 200, { access_token: signSync(at), token_type: 'Bearer', expires_in: 600, id_token: signSync(id) })
    }
  })
}).listen(Number(portArg), '127.0.0.1')
process.once('SIGTERM', () => {
  db.close()
  process.exit(0)
})
