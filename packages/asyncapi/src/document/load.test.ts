import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { AsyncApiError } from '../errors.js'
import { fixture } from '../../test/fixtures.js'
import { loadDocument, parseDocument } from './load.js'

// Every file the loader opens or reads, so that a test can say "nothing outside was read".
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>()
  const openSync = vi.fn(real.openSync)
  const readFileSync = vi.fn(real.readFileSync)
  return { ...real, default: { ...real, openSync, readFileSync }, openSync, readFileSync }
})
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>()
  const readFile = vi.fn(real.readFile)
  return { ...real, default: { ...real, readFile }, readFile }
})
const { readFile } = await import('node:fs/promises')

/** The paths the loader opened or read since the test began. */
function opened(): string[] {
  const calls = [...vi.mocked(fs.openSync).mock.calls, ...vi.mocked(fs.readFileSync).mock.calls, ...vi.mocked(readFile).mock.calls]
  return calls.map(([file]) => String(file))
}
beforeEach(() => {
  vi.mocked(fs.openSync).mockClear()
  vi.mocked(fs.readFileSync).mockClear()
  vi.mocked(readFile).mockClear()
})

async function rejectsWith(promise: Promise<unknown>, code: string) {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(AsyncApiError)
  expect((error as AsyncApiError).code).toBe(code)
}

describe('loadDocument / parseDocument', () => {
  it('AsyncAPI 3.0 §Format: reads YAML and records the declared version', async () => {
    const doc = await loadDocument(fixture('valid.v3.yaml'))
    expect(doc).toMatchObject({ asyncapi: '3.0.0', schemaVersion: '3.0.0', major: 3 })
    expect(doc.problems).toEqual([])
  })

  it('AsyncAPI 3.1 §Format: reads JSON', async () => {
    const doc = await loadDocument(new URL(`file://${fixture('valid.v3.1.json')}`))
    expect(doc).toMatchObject({ asyncapi: '3.1.0', schemaVersion: '3.1.0', major: 3 })
  })

  it('reads every 2.x minor version with its own schema', () => {
    for (const minor of [0, 1, 2, 3, 4, 5, 6]) {
      const doc = parseDocument(`asyncapi: 2.${minor}.0\ninfo: {title: t, version: '1'}\nchannels: {}\n`)
      expect(doc).toMatchObject({ schemaVersion: `2.${minor}.0`, major: 2 })
    }
  })

  it('throws ERR_ASYNCAPI_READ for a missing file', async () => {
    await rejectsWith(loadDocument(fixture('no-such-file.yaml')), 'ERR_ASYNCAPI_READ')
  })

  it('throws ERR_ASYNCAPI_PARSE for text that is neither YAML nor JSON', async () => {
    await rejectsWith(loadDocument(fixture('not-yaml.yaml')), 'ERR_ASYNCAPI_PARSE')
    expect(() => parseDocument('asyncapi: 3.0.0\nasyncapi: 3.0.0\n')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCAPI_PARSE' }))
  })

  it('throws ERR_ASYNCAPI_NOT_ASYNCAPI without an asyncapi version string', async () => {
    await rejectsWith(loadDocument(fixture('openapi.yaml')), 'ERR_ASYNCAPI_NOT_ASYNCAPI')
    expect(() => parseDocument('[1, 2]')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCAPI_NOT_ASYNCAPI' }))
  })

  it('throws ERR_ASYNCAPI_VERSION outside 2.0–2.6 and 3.0–3.1', async () => {
    await rejectsWith(loadDocument(fixture('v1.yaml')), 'ERR_ASYNCAPI_VERSION')
    expect(() => parseDocument('asyncapi: 4.0.0')).toThrow(expect.objectContaining({ code: 'ERR_ASYNCAPI_VERSION' }))
  })

  it('a caller mistake is a TypeError', async () => {
    await expect(loadDocument(42 as unknown as string)).rejects.toBeInstanceOf(TypeError)
    expect(() => parseDocument({} as unknown as string)).toThrow(TypeError)
  })

  it('AsyncAPI 3.0 §Reference Object: inlines other files (and their own #/ references), keeps local ones', async () => {
    const doc = await loadDocument(fixture('external-main.v3.yaml'))
    const schemes = (doc.data.components as { securitySchemes: Record<string, unknown> }).securitySchemes
    expect(schemes.readEvents).toMatchObject({
      type: 'oauth2',
      flows: { authorizationCode: { tokenUrl: 'https://as.example.com/token' } },
    })
    expect((doc.data.operations as Record<string, { channel: unknown }>).readEvents?.channel).toEqual({ $ref: '#/channels/events' })
  })

  it('reports unresolvable references with their pointer and line', async () => {
    const doc = await loadDocument(fixture('external-main.v3.yaml'))
    expect(doc.problems.map((p) => [p.code, p.pointer, p.line])).toEqual([
      ['REF_UNRESOLVED', '/components/securitySchemes/dangling/$ref', 20],
      ['REF_UNRESOLVED', '/components/securitySchemes/missingFile/$ref', 22],
    ])
  })

  it('locates pointers in the source text', async () => {
    const doc = await loadDocument(fixture('valid.v3.yaml'))
    expect(doc.locate('/components/securitySchemes/oauth/flows/authorizationCode/tokenUrl')).toEqual({ line: 38, column: 21 })
    expect(doc.locate('/components/securitySchemes/oauth/nothing/here')?.line).toBe(32)
  })
})

const temporary: string[] = []
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true })
})

/**
 * A temporary tree: `outside/` beside the document's folder `doc/`, with `files` written under
 * `doc/` (paths relative to it, `..` allowed). Returns the folders.
 */
function tree(files: Record<string, string> = {}): { root: string; doc: string; outside: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'asyncapi-refs-'))
  temporary.push(root)
  const doc = path.join(root, 'doc')
  const outside = path.join(root, 'outside')
  mkdirSync(doc)
  mkdirSync(outside)
  writeFileSync(path.join(outside, 'secret.yaml'), 'THE-SECRET\n')
  writeFileSync(path.join(outside, 'scheme.yaml'), 'type: oauth2\ndescription: THE-SECRET\n')
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(doc, name)), { recursive: true })
    writeFileSync(path.join(doc, name), text)
  }
  return { root, doc, outside }
}

/** A document whose scheme description (line 7) and a scheme (line 9) are the two `$ref`s given. */
function documentWith(descriptionRef: string, schemeRef = '#/components/securitySchemes/plain'): string {
  return [
    'asyncapi: 3.0.0',
    "info: {title: t, version: '1'}",
    'components:',
    '  securitySchemes:',
    '    plain:',
    '      type: oauth2',
    `      description: {$ref: '${descriptionRef}'}`,
    '    other:',
    `      $ref: '${schemeRef}'`,
    '',
  ].join('\n')
}

/** The AsyncApiError `run` throws (or rejects with). */
async function refused(run: () => unknown): Promise<AsyncApiError> {
  const error = await Promise.resolve().then(run).then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(AsyncApiError)
  return error as AsyncApiError
}

/** The checks every refused `$ref` passes: its code, its pointer and line in the message, and nothing outside the folder opened. */
function expectRefused(error: AsyncApiError, code: string, pointer: string, line: number, doc: string, why: RegExp): void {
  expect(error.code).toBe(code)
  expect(error).toMatchObject({ pointer, line })
  expect(error.message).toContain(`at ${pointer} (line ${line} of `)
  expect(error.message).toMatch(why)
  expect(error.message).not.toContain('THE-SECRET')
  expect(opened().filter((file) => !file.startsWith(doc + path.sep))).toEqual([])
}

const DESCRIPTION = '/components/securitySchemes/plain/description/$ref'
const SCHEME = '/components/securitySchemes/other/$ref'

describe('SECURITY 29: $refs stay inside the document\'s folder (no other file, no network)', () => {
  it('SECURITY 29: a $ref to ../outside.yaml is refused (pointer and line), and nothing outside is read', async () => {
    const { doc } = tree({ 'asyncapi.yaml': documentWith('../outside/secret.yaml') })
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', DESCRIPTION, 7, doc, /outside the document's folder/)
  })

  it('SECURITY 29: a $ref to an absolute path outside the folder is refused', async () => {
    const { doc, outside } = tree()
    writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith('#/info', path.join(outside, 'scheme.yaml')))
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /outside the document's folder/)
  })

  it('SECURITY 29: a $ref to file:///etc/hostname (or any file: URL outside the folder) is refused', async () => {
    const { doc, outside } = tree()
    for (const ref of ['file:///etc/hostname', `file://${outside}/scheme.yaml`, 'file://localhost/etc/hostname', 'file://other.host/etc/hostname']) {
      writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith('#/info', ref))
      const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
      expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /outside the document's folder|does not name a file on this machine/)
    }
  })

  it('SECURITY 29: a symbolic link inside the folder that points outside is refused (real paths are compared)', async () => {
    const { doc, outside } = tree()
    symlinkSync(path.join(outside, 'scheme.yaml'), path.join(doc, 'scheme.yaml'))
    symlinkSync(outside, path.join(doc, 'linked'))
    for (const ref of ['scheme.yaml', 'linked/scheme.yaml']) {
      writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith('#/info', ref))
      const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
      expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /symbolic link.*outside the document's folder/)
    }
  })

  it('SECURITY 29: http(s) $refs are refused and nothing is fetched', async () => {
    const connections: string[] = []
    const server: Server = createServer((socket) => {
      connections.push('connection')
      socket.destroy()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    try {
      const { doc } = tree()
      for (const ref of ['http://127.0.0.1:1/x', `http://127.0.0.1:${port}/x`, `https://127.0.0.1:${port}/x#/a`, 'ftp://example.com/x.yaml']) {
        writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith('#/info', ref))
        const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
        expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /remote references are not fetched/)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(connections).toEqual([])
    } finally {
      server.close()
    }
  })

  it('SECURITY 29: parseDocument(text) without a source refuses every external $ref and reads no file', async () => {
    for (const ref of ['file:///etc/hostname', 'info.yaml', './asyncapi.yaml#/info', '/etc/hostname']) {
      const error = await refused(() => parseDocument(documentWith('#/info', ref)))
      expect(error).toMatchObject({ code: 'ERR_ASYNCAPI_REF_REFUSED', pointer: SCHEME, line: 9 })
      expect(error.message).toContain(`at ${SCHEME} (line 9 of the document)`)
      expect(error.message).toMatch(/parsed without its file/)
      expect(opened()).toEqual([])
    }
    // References inside the document still work.
    expect(parseDocument(documentWith('#/info')).problems).toEqual([])
  })

  it('SECURITY 29: a $ref is never replaced by a file\'s text, even inside the folder (a scope description stays text)', async () => {
    const { doc } = tree({ 'data/kek.txt': 'THE-SECRET\n', 'asyncapi.yaml': documentWith('data/kek.txt') })
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', DESCRIPTION, 7, doc, /resolves to a string/)
    writeFileSync(path.join(doc, 'values.yaml'), 'secret: THE-SECRET\nport: 4\n')
    for (const ref of ['values.yaml#/secret', 'values.yaml#/port']) {
      writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith(ref))
      expectRefused(await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml'))), 'ERR_ASYNCAPI_REF_REFUSED', DESCRIPTION, 7, doc, /resolves to a (string|number)/)
    }
  })

  it('SECURITY 29: a $ref written in another file is refused with the pointer where it is inlined and the file it is written in', async () => {
    const { doc } = tree({
      'asyncapi.yaml': documentWith('#/info', 'sub/scheme.yaml'),
      'sub/scheme.yaml': "type: oauth2\nflows: {$ref: '../../outside/scheme.yaml'}\n",
    })
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', '/components/securitySchemes/other/flows/$ref', 9, doc, /outside the document's folder/)
    expect(error.message).toContain(`written in ${path.join(doc, 'sub', 'scheme.yaml')}`)
  })

  it('an ordinary document with relative $refs inside its folder and sub-folders still loads', async () => {
    const { doc } = tree({
      'asyncapi.yaml': documentWith('#/info', './schemes/oauth.yaml#/readEvents'),
      'schemes/oauth.yaml': "readEvents:\n  type: oauth2\n  flows: {$ref: '../flows/code.json'}\n  x-ok: {$ref: '#/extra'}\nextra: {a: true}\n",
      'flows/code.json': JSON.stringify({ authorizationCode: { authorizationUrl: 'https://as.example/authorize', tokenUrl: 'https://as.example/token', availableScopes: { read: 'Read' } } }),
    })
    const loaded = await loadDocument(path.join(doc, 'asyncapi.yaml'))
    expect(loaded.problems).toEqual([])
    expect((loaded.data.components as { securitySchemes: Record<string, unknown> }).securitySchemes.other).toEqual({
      type: 'oauth2',
      flows: { authorizationCode: { authorizationUrl: 'https://as.example/authorize', tokenUrl: 'https://as.example/token', availableScopes: { read: 'Read' } } },
      'x-ok': { a: true },
    })
    // A file: URL inside the folder, and an absolute path inside it, are followed too.
    const inside = parseDocument(documentWith('#/info', `file://${doc}/flows/code.json`), { source: path.join(doc, 'asyncapi.yaml') })
    expect(inside.problems).toEqual([])
  })
})

/** A `$ref` fan-out: level i holds `width` references to level i-1 (width^levels nodes once expanded). */
function fanOut(levels: number, width: number): string {
  const lines = ['l0: {a: [1, 2, 3]}']
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: [${Array.from({ length: width }, () => `{$ref: '#/l${i - 1}'}`).join(', ')}]`)
  return lines.join('\n') + '\n'
}

describe('SECURITY 29: resolving $refs has a node budget, a time budget and a size cap; only regular files are read', () => {
  it('SECURITY 29: a $ref fan-out (billion laughs) is refused within a second, naming the $ref that expands', async () => {
    const bomb = fanOut(12, 8)
    expect(bomb.length).toBeLessThan(2048)
    const { doc } = tree({ 'bomb.yaml': bomb, 'asyncapi.yaml': documentWith('#/info', 'bomb.yaml#/l12') })
    // A second of this process's CPU: what the bomb costs the server, however busy the machine
    // running the test is (wall time on two shared cores measured other processes too).
    const started = process.cpuUsage()
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    const spent = process.cpuUsage(started)
    expect((spent.user + spent.system) / 1000).toBeLessThan(1000)
    expectRefused(error, 'ERR_ASYNCAPI_REF_BUDGET', SCHEME, 9, doc, /more than 100000 nodes \(maxNodes\)/)
  })

  it('SECURITY 29: the time budget stops an expansion the node budget would allow', async () => {
    const { doc } = tree({ 'bomb.yaml': fanOut(12, 8), 'asyncapi.yaml': documentWith('#/info', 'bomb.yaml#/l12') })
    const started = performance.now()
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml'), { maxNodes: Number.MAX_SAFE_INTEGER, timeoutMs: 100 }))
    expect(performance.now() - started).toBeLessThan(1000)
    expectRefused(error, 'ERR_ASYNCAPI_REF_BUDGET', SCHEME, 9, doc, /longer than 100 ms \(timeoutMs\)/)
  })

  it('SECURITY 29: a $ref to a FIFO is refused within a second, without opening it', async () => {
    const { doc } = tree({ 'asyncapi.yaml': documentWith('#/info', 'pipe.yaml') })
    execFileSync('mkfifo', [path.join(doc, 'pipe.yaml')])
    const started = performance.now()
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    expect(performance.now() - started).toBeLessThan(1000)
    expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /not a regular file/)
    expect(opened()).toEqual([path.join(doc, 'asyncapi.yaml')])
  })

  it('SECURITY 29: a $ref to a directory or a device is refused', async () => {
    const { doc } = tree({ 'asyncapi.yaml': documentWith('#/info', 'sub/'), 'sub/x.yaml': 'a: 1\n' })
    expectRefused(await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml'))), 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /not a regular file/)
    symlinkSync('/dev/zero', path.join(doc, 'zero.yaml'))
    writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith('#/info', 'zero.yaml'))
    expectRefused(await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml'))), 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /outside the document's folder/)
  })

  it('SECURITY 29: a referenced file over maxRefFileBytes (default 1 MiB) is refused before it is read', async () => {
    const big = `type: oauth2\ndescription: '${'x'.repeat(1024 * 1024)}'\n`
    const { doc } = tree({ 'big.yaml': big, 'small.yaml': 'type: oauth2\n', 'asyncapi.yaml': documentWith('#/info', 'big.yaml') })
    const error = await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml')))
    expectRefused(error, 'ERR_ASYNCAPI_REF_REFUSED', SCHEME, 9, doc, /over 1048576 bytes \(maxRefFileBytes\)/)
    expect(opened()).toEqual([path.join(doc, 'asyncapi.yaml')])
    writeFileSync(path.join(doc, 'asyncapi.yaml'), documentWith('#/info', 'small.yaml'))
    expect((await loadDocument(path.join(doc, 'asyncapi.yaml'), { maxRefFileBytes: 13 })).problems).toEqual([])
    expect((await refused(() => loadDocument(path.join(doc, 'asyncapi.yaml'), { maxRefFileBytes: 12 }))).code).toBe('ERR_ASYNCAPI_REF_REFUSED')
  })

  it('the budgets are options with named defaults, checked on entry (a TypeError before any I/O)', async () => {
    for (const bad of [{ maxNodes: 0 }, { maxNodes: 1.5 }, { timeoutMs: -1 }, { timeoutMs: Infinity }, { maxRefFileBytes: '1' }, { maxRefFileBytes: Number.NaN }]) {
      await expect(loadDocument('/nonexistent/asyncapi.yaml', bad as never)).rejects.toBeInstanceOf(TypeError)
      expect(() => parseDocument('asyncapi: 3.0.0\n', bad as never)).toThrow(TypeError)
    }
    expect(opened()).toEqual([])
  })
})
