/**
 * Runs the example MCP server: `npm start` in this folder, or beside the demo by the root
 * `npm start`. Environment: MCP_ISSUER (the authcode issuer, default http://localhost:4000),
 * MCP_PORT (default 3001), MCP_HOST (default localhost), MCP_RESOURCE (this server's resource URI,
 * default http://localhost:3001/mcp; the authcode server must list it in `resources`).
 */
import { startMcpServer } from './server.js'

const issuer = process.env.MCP_ISSUER ?? 'http://localhost:4000'
const port = Number(process.env.MCP_PORT ?? 3001)
const host = process.env.MCP_HOST ?? 'localhost'
const resource = process.env.MCP_RESOURCE ?? `http://localhost:${port}/mcp`

const server = await startMcpServer({ issuer, resource, port, host })
console.log(`MCP server on ${server.url} (tokens from ${issuer}; metadata at ${server.metadataUrl})`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)))
}
