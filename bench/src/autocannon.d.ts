/**
 * The part of autocannon 8 that load-process.ts uses (autocannon ships no types, and the bench adds
 * no dependency for them). See https://github.com/mcollina/autocannon#api.
 */
declare module 'autocannon' {
  import type { IncomingHttpHeaders } from 'node:http'

  namespace autocannon {
    /** One request of the `requests` sequence. */
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Called before each request is sent; returns the request to send. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: IncomingHttpHeaders) => void
    }

    interface Options {
      url: string
      connections?: number
      /** Seconds. */
      duration?: number
      pipelining?: number
      /** Seconds. */
      timeout?: number
      requests?: Request[]
    }

    /** Latency in milliseconds. */
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      p50: number
      p90: number
      p99: number
    }

    interface Result {
      /** Seconds. */
      duration: number
      errors: number
      timeouts: number
      non2xx: number
      '2xx': number
      latency: Histogram
      requests: Histogram & { total: number }
    }

    interface Instance {
      stop(): void
    }
  }

  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance

  export = autocannon
}
