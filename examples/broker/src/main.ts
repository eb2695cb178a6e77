/**
 * Runs the example broker: `npx tsx src/main.ts`. Environment: BROKER_ISSUER (the authcode
 * issuer, default http://localhost:4000), BROKER_AUDIENCE (this broker's identifier: a `resources`
 * uri of the server, RFC 8707, or its accessToken.audience; default the issuer), PORT (default 8080).
 * Its RFC 9728 metadata is served at /.well-known/oauth-protected-resource.
 */
import { fileURLToPath } from 'node:url'
import { loadDocument } from '@authcode/asyncapi'
import { startBroker } from './broker.js'

const issuer = process.env.BROKER_ISSUER ?? 'http://localhost:4000'
const broker = await startBroker({
  document: await loadDocument(fileURLToPath(new URL('../asyncapi.yaml', import.meta.url))),
  guard: { issuer, audience: process.env.BROKER_AUDIENCE ?? issuer, jwksUri: `${issuer}/jwks` },
  port: Number(process.env.PORT ?? 8080),
})
console.log(`chat broker on ${broker.url}/rooms/{roomId} (tokens from ${issuer})`)
