/**
 * Single-use inputs minted through the front channel, as a returning user's browser and the client
 * would: GET the authorization endpoint with a signed-in user's session cookie (consent remembered),
 * take the code from the redirect, and for refresh tokens exchange it at the token endpoint. The
 * users take turns; at most `MINT_IN_FLIGHT` requests are in flight from the bench process.
 */
import { Agent } from 'node:http'
import { send } from './flow-driver.js'

/** Requests in flight while minting. */
const MINT_IN_FLIGHT = 24

/** What it takes to run the authorization code flow against one server for one client. */
export interface FrontChannel {
  /** http://127.0.0.1:PORT */
  url: string
  issuer: string
  /** Authorization endpoint path and query, without `state`. */
  authorizePath: string
  tokenPath: string
  /** client_secret_basic `Authorization` header. */
  authorization: string
  redirectUri: string
  codeVerifier: string
  /** One `Cookie` header per signed-in user with a remembered consent to this client. */
  cookies: string[]
}

/** `n` results of `mintOne(i)`, at most `MINT_IN_FLIGHT` at a time, in order. */
async function inFlight<T>(n: number, mintOne: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < n; i = next++) out[i] = await mintOne(i)
  }
  await Promise.all(Array.from({ length: Math.min(MINT_IN_FLIGHT, n) }, worker))
  return out
}

async function withAgent<T>(use: (agent: Agent, port: number) => Promise<T>, url: string): Promise<T> {
  const agent = new Agent({ keepAlive: true, maxSockets: MINT_IN_FLIGHT })
  try {
    return await use(agent, Number(new URL(url).port))
  } finally {
    agent.destroy()
  }
}

async function authorize(agent: Agent, port: number, channel: FrontChannel, i: number): Promise<string> {
  const state = `mint-${i}`
  const cookie = channel.cookies[i % channel.cookies.length] as string
  const reply = await send(agent, port, 'GET', `${channel.authorizePath}&state=${state}`, { cookie })
  const location = reply.headers.location ?? ''
  const prefix = `${channel.redirectUri}?`
  const params = new URLSearchParams(location.startsWith(prefix) ? location.slice(prefix.length) : '')
  const code = params.get('code')
  if ((reply.status !== 302 && reply.status !== 303) || code === null || params.get('state') !== state || params.get('iss') !== channel.issuer) {
    throw new Error(`minting: authorize answered ${reply.status} ${location.slice(0, 160)}`)
  }
  return code
}

/** `n` authorization codes, each from one GET of the authorization endpoint with a user's session. */
export function mintCodes(channel: FrontChannel, n: number): Promise<string[]> {
  return withAgent((agent, port) => inFlight(n, (i) => authorize(agent, port, channel, i)), channel.url)
}

/** `n` live refresh tokens, each from a code minted as above and exchanged at the token endpoint. */
export function mintRefreshTokens(channel: FrontChannel, n: number): Promise<string[]> {
  const headers = { authorization: channel.authorization, 'content-type': 'application/x-www-form-urlencoded' }
  return withAgent(
    (agent, port) =>
      inFlight(n, async (i) => {
        const code = await authorize(agent, port, channel, i)
        const body = `grant_type=authorization_code&code=${encodeURIComponent(code)}&redirect_uri=${encodeURIComponent(channel.redirectUri)}&code_verifier=${channel.codeVerifier}`
        const reply = await send(agent, port, 'POST', channel.tokenPath, { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body)
        const token = reply.status === 200 ? (JSON.parse(reply.body) as { refresh_token?: unknown }).refresh_token : undefined
        if (typeof token !== 'string') throw new Error(`minting: token answered ${reply.status} without a refresh token: ${reply.body.slice(0, 160)}`)
        return token
      }),
    channel.url,
  )
}
