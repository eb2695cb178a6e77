/**
 * The official AsyncAPI JSON Schemas, read from `@asyncapi/specs` file by file (its index would load
 * every version at once), compiled by Ajv once per version and cached.
 */
import { createRequire } from 'node:module'
import { Ajv, type ValidateFunction } from 'ajv'
import * as formatsModule from 'ajv-formats'
import type { SchemaVersion } from '../document/versions.js'

const require = createRequire(import.meta.url)

type FormatsPlugin = (ajv: Ajv) => Ajv
const addFormats: FormatsPlugin =
  ((formatsModule as unknown as { default?: FormatsPlugin }).default as FormatsPlugin | undefined) ??
  (formatsModule as unknown as FormatsPlugin)

function newAjv(): Ajv {
  // The bundled schemas embed their own copy of the draft-07 meta-schema (same $id as Ajv's), and use
  // non-standard keywords (`example`, `x-*`): no meta-schema, no strict mode.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, meta: false, validateSchema: false })
  addFormats(ajv)
  return ajv
}

const documentValidators = new Map<SchemaVersion, ValidateFunction>()

/** The whole-document validator for a version (~0.1–0.2 s to compile the first time). */
export function documentValidator(version: SchemaVersion): ValidateFunction {
  let validate = documentValidators.get(version)
  if (!validate) {
    validate = newAjv().compile(require(`@asyncapi/specs/schemas/${version}.json`) as object)
    documentValidators.set(version, validate)
  }
  return validate
}

/** The four definition files that make up the oauth2 security scheme of a version. */
const OAUTH2_DEFINITIONS = ['specificationExtension', 'oauth2Scopes', 'oauth2Flow', 'oauth2Flows'] as const

const oauth2Validators = new Map<SchemaVersion, ValidateFunction>()

/** The validator of an oauth2 security scheme object (`oauth2Flows.json`) of a version: fast, loads only its four files. */
export function oauth2SchemeValidator(version: SchemaVersion): ValidateFunction {
  let validate = oauth2Validators.get(version)
  if (!validate) {
    const ajv = newAjv()
    for (const name of OAUTH2_DEFINITIONS) ajv.addSchema(require(`@asyncapi/specs/definitions/${version}/${name}.json`) as object)
    validate = ajv.getSchema(`http://asyncapi.com/definitions/${version}/oauth2Flows.json`)
    if (!validate) throw new Error(`@asyncapi/specs has no oauth2Flows.json for ${version}`)
    oauth2Validators.set(version, validate)
  }
  return validate
}
