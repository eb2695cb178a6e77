/**
 * The adopter's brand on the pages: a product name, a logo, an accent colour and a stylesheet of
 * their own, read at start and served by the server itself under fixed paths, so that the pages'
 * CSP keeps allowing `'self'` only (no inline style, no other origin).
 */
import { createHash } from 'node:crypto'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { ConfigError } from '../config/errors.js'
import { readStartFile } from './start-files.js'

/** The built-in stylesheet, beside `src/` and `dist/` alike. */
export const BUILT_IN_STYLESHEET = fileURLToPath(new URL('../../assets/style.css', import.meta.url))
/** The icon browsers ask every site for (`/favicon.ico`), so that request is not a 404. */
const BUILT_IN_FAVICON = fileURLToPath(new URL('../../assets/favicon.ico', import.meta.url))

/** Where the server serves each asset, under the issuer's path. */
export const ASSET_PATHS = { style: '/assets/style.css', stylesheet: '/assets/custom.css', logo: '/assets/logo', favicon: '/favicon.ico' } as const

/** The image types a logo may have, by file extension. */
export const LOGO_TYPES: Readonly<Record<string, string>> = {
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
}

/** Larger logos and stylesheets are refused at start: they are held in memory and sent with every page. */
export const MAX_ASSET_BYTES = 1024 * 1024

export interface BrandingSettings {
  productName: string
  /** Absolute paths of the adopter's files, when given. */
  logo: string | undefined
  stylesheet: string | undefined
  /** `#rrggbb` */
  accentColor: string | undefined
}

interface Asset {
  body: Buffer
  type: string
  /** The path with a version of its content (`?v=…`), so a new file is fetched at once despite caching. */
  url: string
}

/** WCAG 2.1 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const value = parseInt(hex.slice(i, i + 2), 16) / 255
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

/** WCAG 2.1 contrast ratio of two `#rrggbb` colours. */
export function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (light + 0.05) / (dark + 0.05)
}

const INK = '#1d2330'

/**
 * CSS that sets the accent: the colour of buttons and links, and on buttons the text colour
 * (white or the page's ink) that contrasts with it more.
 */
export function accentCss(accent: string): string {
  const ink = contrast(accent, '#ffffff') >= contrast(accent, INK) ? '#fff' : INK
  return `\n:root { --accent: ${accent}; --accent-ink: ${ink}; }\n`
}

export class Branding {
  readonly productName: string
  readonly #style: Asset
  readonly #favicon: Asset
  readonly #stylesheet: Asset | undefined
  readonly #logo: Asset | undefined
  /** What the operator should hear at start (an accent too light to read on white). */
  readonly warnings: readonly string[]

  constructor(settings: BrandingSettings, basePath: string) {
    const asset = (path: string, body: Buffer, type: string): Asset => ({
      body,
      type,
      url: `${basePath}${path}?v=${createHash('sha256').update(body).digest('base64url').slice(0, 12)}`,
    })
    const warnings: string[] = []
    this.productName = settings.productName
    let css = readStartFile(BUILT_IN_STYLESHEET, 'the built-in stylesheet').toString('utf8')
    if (settings.accentColor !== undefined) {
      css += accentCss(settings.accentColor)
      const onWhite = contrast(settings.accentColor, '#ffffff')
      if (onWhite < 4.5) {
        warnings.push(
          `pages.accentColor ${settings.accentColor} has a contrast of ${onWhite.toFixed(1)}:1 on white, below the 4.5:1 that links ` +
            'and outlined buttons need (WCAG 2.1 1.4.3); choose a darker colour or restyle them in pages.stylesheet',
        )
      }
    }
    this.#style = asset(ASSET_PATHS.style, Buffer.from(css), 'text/css; charset=utf-8')
    this.#favicon = asset(ASSET_PATHS.favicon, readStartFile(BUILT_IN_FAVICON, 'the built-in icon'), 'image/x-icon')
    if (settings.stylesheet !== undefined) {
      this.#stylesheet = asset(ASSET_PATHS.stylesheet, sized(settings.stylesheet, 'pages.stylesheet'), 'text/css; charset=utf-8')
    }
    if (settings.logo !== undefined) {
      const type = LOGO_TYPES[extname(settings.logo).toLowerCase()]
      if (type === undefined) throw new ConfigError(`pages.logo: ${settings.logo}: not an image this server serves (${Object.keys(LOGO_TYPES).join(', ')})`)
      this.#logo = asset(ASSET_PATHS.logo, sized(settings.logo, 'pages.logo'), type)
    }
    this.warnings = Object.freeze(warnings)
  }

  /** The stylesheets every page links, in order: the built-in one, then the adopter's. */
  get stylesheets(): string[] {
    return [this.#style.url, ...(this.#stylesheet === undefined ? [] : [this.#stylesheet.url])]
  }

  /** The logo's URL, when there is one. */
  get logo(): string | undefined {
    return this.#logo?.url
  }

  /** Serves the stylesheets and the logo under `ASSET_PATHS`. */
  serve(app: FastifyInstance): void {
    const serve = (path: string, asset: Asset | undefined) => {
      if (asset === undefined) return
      app.get(path, async (_request, reply) => reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body))
    }
    serve(ASSET_PATHS.style, this.#style)
    serve(ASSET_PATHS.stylesheet, this.#stylesheet)
    serve(ASSET_PATHS.logo, this.#logo)
    serve(ASSET_PATHS.favicon, this.#favicon)
  }
}

function sized(path: string, setting: string): Buffer {
  const body = readStartFile(path, setting)
  if (body.length > MAX_ASSET_BYTES) throw new ConfigError(`${setting}: ${path} is larger than ${MAX_ASSET_BYTES / 1024} KiB`)
  return body
}
