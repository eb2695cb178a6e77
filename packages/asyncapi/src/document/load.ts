import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMap, isSeq, LineCounter, parseDocument as parseYaml, type Document as YamlDocument } from 'yaml'
import { AsyncApiError } from '../errors.js'
import type { Problem } from '../problems.js'
import { get, isObject, join, split } from '../internal/pointer.js'
import { schemaVersionOf, type SchemaVersion } from './versions.js'

/**
 * A readable AsyncAPI document: YAML or JSON, with every `$ref` to another file inlined where it
 * stood, and `$ref`s inside the document kept (and checked to resolve). Made only by
 * {@link loadDocument} and {@link parseDocument}.
 */
export interface AsyncApiDocument {
  /** The `asyncapi` field as declared, e.g. `3.0.0`. */
  readonly asyncapi: string
  /** The official schema this document is validated against. */
  readonly schemaVersion: SchemaVersion
  readonly major: 2 | 3
  /** The document as plain JSON data (external `$ref`s inlined, internal ones kept). Do not mutate. */
  readonly data: Readonly<Record<string, unknown>>
  /** The file it was read from, when known. */
  readonly source: string | undefined
  /** Problems found while resolving references (`REF_UNRESOLVED`, `REF_SIBLINGS_IGNORED`). */
  readonly problems: readonly Problem[]
  /** 1-based line and column of `pointer` (or its nearest ancestor) in the source text. */
  locate(pointer: string): { line: number; column: number } | undefined
}

/** Options of {@link parseDocument}. */
export interface ParseOptions {
  /** The file the text came from: relative `$ref`s are read from its folder. Without it, references to other files are reported unresolved. */
  source?: string
}

const documents = new WeakSet<AsyncApiDocument>()

/** Throws a TypeError unless `doc` came from {@link loadDocument} or {@link parseDocument}. */
export function assertDocument(doc: unknown, fn: string): asserts doc is AsyncApiDocument {
  if (typeof doc !== 'object' || doc === null || !documents.has(doc as AsyncApiDocument)) {
    throw new TypeError(`${fn}: expected a document from loadDocument() or parseDocument()`)
  }
}

/**
 * Reads an AsyncAPI 2.0–2.6 or 3.0–3.1 document from a YAML or JSON file and inlines the files its
 * `$ref`s point to (remote `http(s):` references are never fetched: they are reported instead).
 *
 * @throws {AsyncApiError} `ERR_ASYNCAPI_READ`, `ERR_ASYNCAPI_PARSE`, `ERR_ASYNCAPI_NOT_ASYNCAPI`, `ERR_ASYNCAPI_VERSION`
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#referenceObject
 * @example
 * ```ts
 * const doc = await loadDocument('asyncapi.yaml')
 * const { schemes } = readAuthorizationCodeSchemes(doc)
 * ```
 */
export async function loadDocument(file: string | URL): Promise<AsyncApiDocument> {
  if (typeof file !== 'string' && !(file instanceof URL)) throw new TypeError('loadDocument: file must be a path or a file: URL')
  const filePath = file instanceof URL ? fileURLToPath(file) : path.resolve(file)
  let text: string
  try {
    text = await readFile(filePath, 'utf8')
  } catch (cause) {
    throw new AsyncApiError('ERR_ASYNCAPI_READ', `cannot read ${filePath}: ${(cause as Error).message}`, { cause })
  }
  return parseDocument(text, { source: filePath })
}

/**
 * Parses an AsyncAPI document from YAML or JSON text (JSON is read as YAML 1.2).
 *
 * @throws {AsyncApiError} `ERR_ASYNCAPI_PARSE`, `ERR_ASYNCAPI_NOT_ASYNCAPI`, `ERR_ASYNCAPI_VERSION`
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#format
 */
export function parseDocument(text: string, options: ParseOptions = {}): AsyncApiDocument {
  if (typeof text !== 'string') throw new TypeError('parseDocument: text must be a string')
  if (options.source !== undefined && typeof options.source !== 'string') throw new TypeError('parseDocument: options.source must be a string')
  const source = options.source === undefined ? undefined : path.resolve(options.source)
  const lineCounter = new LineCounter()
  const yaml = parseText(text, source ?? 'the document', lineCounter)
  const raw: unknown = yaml.toJS({ maxAliasCount: 100 })
  if (!isObject(raw) || typeof raw.asyncapi !== 'string') {
    throw new AsyncApiError('ERR_ASYNCAPI_NOT_ASYNCAPI', `${source ?? 'the document'} is not an AsyncAPI document (no "asyncapi" version string at its root)`)
  }
  const schemaVersion = schemaVersionOf(raw.asyncapi)
  if (schemaVersion === undefined) {
    throw new AsyncApiError('ERR_ASYNCAPI_VERSION', `AsyncAPI ${raw.asyncapi} is not supported (2.0–2.6 and 3.0–3.1 are)`)
  }
  const problems: Problem[] = []
  const bundler = new Bundler(source, raw, problems)
  const data = bundler.bundle(raw, { file: source, root: raw }, '', []) as Record<string, unknown>
  const locate = (pointer: string) => locateIn(yaml, lineCounter, pointer)
  const doc: AsyncApiDocument = {
    asyncapi: raw.asyncapi,
    schemaVersion,
    major: schemaVersion.startsWith('2.') ? 2 : 3,
    data,
    source,
    problems: problems.map((p) => ({ ...p, ...locate(p.pointer) })),
    locate,
  }
  documents.add(doc)
  return Object.freeze(doc)
}

function parseText(text: string, name: string, lineCounter?: LineCounter): YamlDocument {
  const yaml = parseYaml(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const first = yaml.errors[0]
  if (first) {
    throw new AsyncApiError('ERR_ASYNCAPI_PARSE', `${name} is neither YAML nor JSON: ${first.message.split('\n')[0]}`, { cause: first })
  }
  return yaml
}

interface Place {
  /** The file the node comes from (undefined: text without a known file). */
  file: string | undefined
  /** The parsed root of that file, for its own `#/…` references. */
  root: unknown
}

/** Inlines `$ref`s to other files; keeps (and checks) references inside the main document. */
class Bundler {
  private readonly files = new Map<string, unknown>()

  constructor(
    private readonly mainFile: string | undefined,
    private readonly mainRoot: unknown,
    private readonly problems: Problem[],
  ) {}

  bundle(node: unknown, place: Place, pointer: string, stack: string[]): unknown {
    if (Array.isArray(node)) return node.map((item, i) => this.bundle(item, place, join(pointer, i), stack))
    if (!isObject(node)) return node
    if (typeof node.$ref === 'string') return this.reference(node, node.$ref, place, pointer, stack)
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) out[key] = this.bundle(value, place, join(pointer, key), stack)
    return out
  }

  private reference(node: Record<string, unknown>, ref: string, place: Place, pointer: string, stack: string[]): unknown {
    const siblings = Object.keys(node).filter((k) => k !== '$ref')
    if (siblings.length > 0) {
      this.problems.push({
        severity: 'warning',
        code: 'REF_SIBLINGS_IGNORED',
        message: `fields beside "$ref" are ignored: ${siblings.join(', ')}`,
        pointer,
      })
    }
    const hash = ref.indexOf('#')
    const target = hash === -1 ? ref : ref.slice(0, hash)
    const fragment = hash === -1 ? '' : decodeURIComponent(ref.slice(hash + 1))
    const unresolved = (why: string) => {
      this.problems.push({ severity: 'error', code: 'REF_UNRESOLVED', message: `cannot resolve "$ref": "${ref}": ${why}`, pointer: join(pointer, '$ref') })
      return { $ref: ref }
    }
    if (split(fragment) === undefined) return unresolved('the fragment is not a JSON pointer')
    let file = place.file
    let root = place.root
    if (target !== '') {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.toLowerCase().startsWith('file:')) {
        return unresolved('remote references are not fetched')
      }
      if (place.file === undefined && !target.toLowerCase().startsWith('file:')) {
        return unresolved('the document has no file to resolve it against')
      }
      file = fileURLToPath(new URL(target, pathToFileURL(place.file ?? process.cwd() + '/')))
      const loaded = this.read(file)
      if (loaded instanceof Error) return unresolved(loaded.message)
      root = loaded
    }
    if (root === this.mainRoot && file === this.mainFile) {
      // A reference inside the main document: kept, so the document keeps its shape and pointers.
      if (get(root, fragment) === undefined) return unresolved(`nothing at ${fragment || '/'}`)
      return { $ref: ref }
    }
    const key = `${file ?? ''}#${fragment}`
    if (stack.includes(key)) return unresolved('circular reference')
    const value = get(root, fragment)
    if (value === undefined) return unresolved(`nothing at ${fragment || '/'} in ${file}`)
    return this.bundle(value, { file, root }, pointer, [...stack, key])
  }

  private read(file: string): unknown {
    if (file === this.mainFile) return this.mainRoot
    if (this.files.has(file)) return this.files.get(file)
    let value: unknown
    try {
      value = parseText(readFileSync(file, 'utf8'), file).toJS({ maxAliasCount: 100 })
    } catch (error) {
      value = error instanceof AsyncApiError ? error : new Error(`cannot read ${file}: ${(error as Error).message}`)
    }
    this.files.set(file, value)
    return value
  }
}

function locateIn(yaml: YamlDocument, lineCounter: LineCounter, pointer: string): { line: number; column: number } | undefined {
  const tokens = split(pointer)
  if (tokens === undefined) return undefined
  let node: unknown = yaml.contents
  let found = node
  for (const token of tokens) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as { value?: unknown } | null
        return k !== null && typeof k === 'object' && String(k.value) === token
      })
      if (!pair) break
      node = pair.value ?? pair.key
      found = node
    } else if (isSeq(node)) {
      const item = node.items[Number(token)]
      if (item === undefined) break
      node = item
      found = node
    } else {
      break
    }
  }
  const range = (found as { range?: [number, number, number] } | null)?.range
  if (!range) return undefined
  const { line, col } = lineCounter.linePos(range[0])
  return { line, column: col }
}
