import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMap, isSeq, LineCounter, parseDocument as parseYaml, type Document as YamlDocument } from 'yaml'
import { AsyncApiError, type AsyncApiErrorCode } from '../errors.js'
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

/** Default of {@link LoadOptions.maxRefFileBytes}: 1 MiB, several times the largest AsyncAPI document we know of. */
export const DEFAULT_MAX_REF_FILE_BYTES = 1024 * 1024
/** Default of {@link LoadOptions.maxNodes}: several hundred times the nodes of a typical document (the streetlights examples have ~270), reached in ~0.2 s. */
export const DEFAULT_MAX_NODES = 100_000
/** Default of {@link LoadOptions.timeoutMs}: resolving a real document takes milliseconds. */
export const DEFAULT_TIMEOUT_MS = 2_000

/**
 * How far the loader follows `$ref`s to other files. Whatever the options, a `$ref` is followed only
 * to a regular file inside the document's folder (symbolic links resolved), never to a URL, and a
 * file's text never replaces a value: anything else is `ERR_ASYNCAPI_REF_REFUSED`.
 */
export interface LoadOptions {
  /** The largest file a `$ref` may name, in bytes (checked before it is opened). Default {@link DEFAULT_MAX_REF_FILE_BYTES}. */
  maxRefFileBytes?: number
  /** The most nodes (objects, arrays, values) that inlining other files may produce; more is `ERR_ASYNCAPI_REF_BUDGET`. Default {@link DEFAULT_MAX_NODES}. */
  maxNodes?: number
  /** The longest parsing and resolving may take, in milliseconds; longer is `ERR_ASYNCAPI_REF_BUDGET`. Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number
}

/** Options of {@link parseDocument}. */
export interface ParseOptions extends LoadOptions {
  /**
   * The file the text came from: relative `$ref`s are read from its folder, and only from there.
   * Without it, only references inside the document (`#/…`) are followed: any other is refused.
   */
  source?: string
}

/** The checked {@link LoadOptions}, with the deadline they set. */
interface Limits {
  readonly maxRefFileBytes: number
  readonly maxNodes: number
  readonly timeoutMs: number
  /** `performance.now()` past which resolving stops. */
  readonly deadline: number
}

/** Throws a TypeError for an option that is not a positive integer; fills in the defaults. */
function checkLimits(fn: string, options: LoadOptions): Omit<Limits, 'deadline'> {
  const positive = (name: keyof LoadOptions, fallback: number): number => {
    const value: unknown = options[name]
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${fn}: options.${name} must be a positive integer`)
    return value
  }
  return {
    maxRefFileBytes: positive('maxRefFileBytes', DEFAULT_MAX_REF_FILE_BYTES),
    maxNodes: positive('maxNodes', DEFAULT_MAX_NODES),
    timeoutMs: positive('timeoutMs', DEFAULT_TIMEOUT_MS),
  }
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
 * `$ref`s point to: regular files inside the document's folder only (see {@link LoadOptions});
 * nothing is ever fetched.
 *
 * @throws {AsyncApiError} `ERR_ASYNCAPI_READ`, `ERR_ASYNCAPI_PARSE`, `ERR_ASYNCAPI_NOT_ASYNCAPI`, `ERR_ASYNCAPI_VERSION`,
 * `ERR_ASYNCAPI_REF_REFUSED`, `ERR_ASYNCAPI_REF_BUDGET`
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#referenceObject
 * @example
 * ```ts
 * const doc = await loadDocument('asyncapi.yaml')
 * const { schemes } = readAuthorizationCodeSchemes(doc)
 * ```
 */
export async function loadDocument(file: string | URL, options: LoadOptions = {}): Promise<AsyncApiDocument> {
  if (typeof file !== 'string' && !(file instanceof URL)) throw new TypeError('loadDocument: file must be a path or a file: URL')
  if (typeof options !== 'object' || options === null) throw new TypeError('loadDocument: options must be an object')
  checkLimits('loadDocument', options)
  const filePath = file instanceof URL ? fileURLToPath(file) : path.resolve(file)
  let text: string
  try {
    text = await readFile(filePath, 'utf8')
  } catch (cause) {
    throw new AsyncApiError('ERR_ASYNCAPI_READ', `cannot read ${filePath}: ${(cause as Error).message}`, { cause })
  }
  return parseDocument(text, { ...options, source: filePath })
}

/**
 * Parses an AsyncAPI document from YAML or JSON text (JSON is read as YAML 1.2).
 *
 * @throws {AsyncApiError} `ERR_ASYNCAPI_PARSE`, `ERR_ASYNCAPI_NOT_ASYNCAPI`, `ERR_ASYNCAPI_VERSION`,
 * `ERR_ASYNCAPI_REF_REFUSED`, `ERR_ASYNCAPI_REF_BUDGET`
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#format
 * @example
 * ```ts
 * const doc = parseDocument(text, { source: 'asyncapi.yaml' })  // $refs read from its folder only
 * ```
 */
export function parseDocument(text: string, options: ParseOptions = {}): AsyncApiDocument {
  const started = performance.now()
  if (typeof text !== 'string') throw new TypeError('parseDocument: text must be a string')
  if (typeof options !== 'object' || options === null) throw new TypeError('parseDocument: options must be an object')
  if (options.source !== undefined && typeof options.source !== 'string') throw new TypeError('parseDocument: options.source must be a string')
  const checked = checkLimits('parseDocument', options)
  const limits: Limits = { ...checked, deadline: started + checked.timeoutMs }
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
  const locate = (pointer: string) => locateIn(yaml, lineCounter, pointer)
  const bundler = new Bundler(source, raw, problems, limits, locate)
  const data = bundler.bundle(raw, { file: source, root: raw }, '', []) as Record<string, unknown>
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

/** A `$ref` being inlined. */
interface Expansion {
  /** `file#fragment` of its target, to find cycles. */
  readonly key: string
  readonly ref: string
  /** The pointer of the `$ref` itself (`…/$ref`), where its content is addressed in the document. */
  readonly pointer: string
  /** The file the `$ref` is written in. */
  readonly file: string | undefined
}

/**
 * Inlines `$ref`s to other files; keeps (and checks) references inside the main document. Other
 * files are read only inside the main document's folder, only when they are regular files under
 * the size cap; inlining stops at the node and time budgets.
 */
class Bundler {
  private readonly files = new Map<string, unknown>()
  /** The main document's folder; undefined when its file is not known (then no other file is read). */
  private readonly folder: string | undefined
  private realFolder: string | undefined
  /** Nodes produced by inlining other files. */
  private nodes = 0

  constructor(
    private readonly mainFile: string | undefined,
    private readonly mainRoot: unknown,
    private readonly problems: Problem[],
    private readonly limits: Limits,
    private readonly locate: (pointer: string) => { line: number } | undefined,
  ) {
    this.folder = mainFile === undefined ? undefined : path.dirname(mainFile)
  }

  bundle(node: unknown, place: Place, pointer: string, stack: readonly Expansion[]): unknown {
    this.spend(stack)
    if (Array.isArray(node)) return node.map((item, i) => this.bundle(item, place, join(pointer, i), stack))
    if (!isObject(node)) return node
    if (typeof node.$ref === 'string') return this.reference(node, node.$ref, place, pointer, stack)
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) out[key] = this.bundle(value, place, join(pointer, key), stack)
    return out
  }

  /** Counts a node inlined from another file; past a budget, throws `ERR_ASYNCAPI_REF_BUDGET` naming the outermost `$ref` being inlined. */
  private spend(stack: readonly Expansion[]): void {
    const outermost = stack[0]
    if (outermost === undefined) return // the main document's own nodes
    if (++this.nodes > this.limits.maxNodes) {
      throw this.error('ERR_ASYNCAPI_REF_BUDGET', outermost, `: inlining it produced more than ${this.limits.maxNodes} nodes (maxNodes), a reference fan-out`)
    }
    if (this.nodes % 256 === 0) this.checkTime(outermost)
  }

  private checkTime(expansion: Omit<Expansion, 'key'>): void {
    if (performance.now() > this.limits.deadline) {
      throw this.error('ERR_ASYNCAPI_REF_BUDGET', expansion, `: inlining it took longer than ${this.limits.timeoutMs} ms (timeoutMs)`)
    }
  }

  /** An error about a `$ref`, naming it, its pointer, its line in the document and the file it is written in. */
  private error(code: AsyncApiErrorCode, expansion: Omit<Expansion, 'key'>, what: string): AsyncApiError {
    const line = this.locate(expansion.pointer)?.line
    const where = `${line === undefined ? 'in' : `line ${line} of`} ${this.mainFile ?? 'the document'}`
    const written = expansion.file === undefined || expansion.file === this.mainFile ? '' : `; written in ${expansion.file}`
    return new AsyncApiError(code, `"$ref": ${JSON.stringify(expansion.ref)} at ${expansion.pointer} (${where}${written})${what}`, { pointer: expansion.pointer, line })
  }

  private reference(node: Record<string, unknown>, ref: string, place: Place, pointer: string, stack: readonly Expansion[]): unknown {
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
    const at = { ref, pointer: join(pointer, '$ref'), file: place.file }
    const unresolved = (why: string) => {
      this.problems.push({ severity: 'error', code: 'REF_UNRESOLVED', message: `cannot resolve "$ref": "${ref}": ${why}`, pointer: at.pointer })
      return { $ref: ref }
    }
    const refuse = (why: string): never => {
      throw this.error('ERR_ASYNCAPI_REF_REFUSED', at, ` is refused: ${why}`)
    }
    if (split(fragment) === undefined) return unresolved('the fragment is not a JSON pointer')
    let file = place.file
    let root = place.root
    if (target !== '') {
      file = this.fileOf(target, place, refuse)
      this.checkTime(stack[0] ?? at)
      const loaded = this.read(file, refuse)
      if (loaded instanceof Error) return unresolved(loaded.message)
      root = loaded
    }
    if (root === this.mainRoot && file === this.mainFile) {
      // A reference inside the main document: kept, so the document keeps its shape and pointers.
      if (get(root, fragment) === undefined) return unresolved(`nothing at ${fragment || '/'}`)
      return { $ref: ref }
    }
    const key = `${file ?? ''}#${fragment}`
    if (stack.some((e) => e.key === key)) return unresolved('circular reference')
    const value = get(root, fragment)
    if (value === undefined) return unresolved(`nothing at ${fragment || '/'} in ${file}`)
    // A Reference Object stands for an object (a Schema may be a boolean): a file's text, or a value
    // read from it, never replaces a string such as a scope description.
    if (typeof value === 'string' || typeof value === 'number' || value === null) {
      refuse(`it resolves to a ${value === null ? 'null' : typeof value}, and a $ref stands for an object: a file's text is never inlined`)
    }
    return this.bundle(value, { file, root }, pointer, [...stack, { ...at, key }])
  }

  /** The file a `$ref` to another document names, inside the main document's folder; reads nothing. */
  private fileOf(target: string, place: Place, refuse: (why: string) => never): string {
    const base = place.file
    if (base === undefined || this.folder === undefined) return refuse('the document was parsed without its file (options.source): only references inside it (#/…) are followed')
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !/^file:/i.test(target)) return refuse('remote references are not fetched')
    let file: string
    try {
      file = fileURLToPath(new URL(target, pathToFileURL(base)))
    } catch {
      return refuse('it does not name a file on this machine')
    }
    if (!isInside(file, this.folder)) return refuse(`it is outside the document's folder ${this.folder}`)
    return file
  }

  /** The parsed file (cached), or an Error to report as unresolved; refuses files that are not regular, too large, or really outside the folder. */
  private read(file: string, refuse: (why: string) => never): unknown {
    if (file === this.mainFile) return this.mainRoot
    if (this.files.has(file)) return this.files.get(file)
    let value: unknown
    try {
      value = parseText(this.readInside(file, refuse), file).toJS({ maxAliasCount: 100 })
    } catch (error) {
      if (error instanceof AsyncApiError && error.code !== 'ERR_ASYNCAPI_PARSE') throw error
      value = error instanceof AsyncApiError ? error : new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    this.files.set(file, value)
    return value
  }

  /**
   * The text of `file`: its real path (symbolic links resolved) must be inside the real folder, and it
   * must be a regular file no larger than `maxRefFileBytes` before it is opened (a FIFO would block).
   * Opened without following a link, without blocking, and checked again once open.
   */
  private readInside(file: string, refuse: (why: string) => never): string {
    const folder = this.folder ?? refuse('the document was parsed without its file')
    const real = realpathSync(file)
    this.realFolder ??= realpathSync(folder)
    if (!isInside(real, this.realFolder)) refuse(`it leads through a symbolic link to ${real}, outside the document's folder ${folder}`)
    const stats = statSync(real)
    if (!stats.isFile()) refuse('it is not a regular file (a directory, FIFO, socket or device)')
    const max = this.limits.maxRefFileBytes
    if (stats.size > max) refuse(`it is ${stats.size} bytes, over ${max} bytes (maxRefFileBytes)`)
    const fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    try {
      const opened = fstatSync(fd)
      if (!opened.isFile() || opened.dev !== stats.dev || opened.ino !== stats.ino) refuse('it was replaced while being read')
      // One byte more than expected, to notice a file that grew since it was checked.
      const buffer = Buffer.alloc(Math.min(opened.size, max) + 1)
      let length = 0
      while (length < buffer.length) {
        const n = readSync(fd, buffer, length, buffer.length - length, null)
        if (n === 0) break
        length += n
      }
      if (length === buffer.length) refuse('it grew while being read')
      return buffer.toString('utf8', 0, length)
    } finally {
      closeSync(fd)
    }
  }
}

/** `file` is `folder` or inside it (both absolute and normalized). */
function isInside(file: string, folder: string): boolean {
  const relative = path.relative(folder, file)
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)
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
