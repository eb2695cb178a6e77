import { describe, expect, it } from 'vitest'
import { ConfigError } from '../config/errors.js'
import { DEFAULT_SERVICE_NAME, tracingSettings } from './tracing.js'

describe('tracingSettings: what the OTEL_* environment asks for', () => {
  it('off unless an exporter or an OTLP endpoint is asked for; OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none win', () => {
    expect(tracingSettings({})).toBeUndefined()
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'authcode', OTEL_TRACES_SAMPLER: 'always_on' })).toBeUndefined()
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined()
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined()
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'false' })).toBeDefined()
  })

  it('the general endpoint gets /v1/traces appended; the traces endpoint is taken as is; the default is localhost:4318', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })?.url).toBe('http://collector:4318/v1/traces')
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp' })?.url,
    ).toBe('https://traces.example/otlp')
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' })?.url).toBe('http://localhost:4318/v1/traces')
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'console' })?.exporter).toBe('console')
  })

  it('headers and resource attributes are key=value lists, percent-decoded; OTEL_SERVICE_NAME wins, authcode by default', () => {
    const settings = tracingSettings({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,service.name=from-attributes',
    })
    expect(settings?.headers).toEqual({ authorization: 'Bearer abc', 'x-tenant': 'b' })
    expect(settings?.resource).toEqual({ 'deployment.environment.name': 'prod', 'service.name': 'from-attributes' })
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'auth-eu', OTEL_RESOURCE_ATTRIBUTES: 'service.name=x' })?.resource['service.name']).toBe('auth-eu')
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' })?.resource).toEqual({ 'service.name': DEFAULT_SERVICE_NAME })
  })

  it('samplers: parent-based always-on by default; a ratio from OTEL_TRACES_SAMPLER_ARG', () => {
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' })).toMatchObject({ sampler: 'parentbased_always_on', ratio: 1 })
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toMatchObject({
      sampler: 'parentbased_traceidratio',
      ratio: 0.25,
    })
  })

  it('http/protobuf is sent as http/json with a warning', () => {
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })?.warnings).toHaveLength(1)
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })?.warnings).toEqual([])
  })

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_TRACES_EXPORTER: 'otlp,console' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, 'OTEL_EXPORTER_OTLP_HEADERS'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_HEADERS: 'k=%zz' }, 'OTEL_EXPORTER_OTLP_HEADERS'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG'],
  ])('a value it cannot follow stops the start with a ConfigError naming the variable: %j', (env, name) => {
    expect(() => tracingSettings(env)).toThrow(ConfigError)
    expect(() => tracingSettings(env)).toThrow(new RegExp(`^${name}: `))
  })

  it('a header value is never in an error message', () => {
    expect(() => tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=%zzsecret' })).toThrow(/^(?!.*secret)/)
  })
})
