/**
 * WAL checkpoints off the event loop. SQLite checkpoints in whichever connection commits past
 * `wal_autocheckpoint` pages, and a checkpoint fsyncs the WAL and the database file: with
 * `synchronous = NORMAL` that was about half of a code exchange's SQLite time, on the thread that
 * serves every request. The serving connection turns automatic checkpoints off and a worker
 * thread with its own connection runs PASSIVE checkpoints (they never block the writer) instead.
 * Durability is unchanged: commits still append to the WAL exactly as before.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type SQLite from 'better-sqlite3'

/** How often the worker checkpoints; the WAL grows by at most what is committed in this time. */
const CHECKPOINT_INTERVAL_MS = 250
/** SQLite's own default, restored on the serving connection if the worker cannot run. */
const DEFAULT_AUTOCHECKPOINT = 1000

// The worker is evaluated from this text (CommonJS, whatever flags the process was started with:
// `execArgv: []`), so it runs the same from src/ under the test
// runner as from dist/; it opens the file with the same better-sqlite3 the server loaded.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const SQLite = require(workerData.driver)
const database = new SQLite(workerData.path)
database.pragma('busy_timeout = 1000')
const checkpoint = () => {
  try { database.pragma('wal_checkpoint(PASSIVE)') } catch {}
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  checkpoint()
  database.close()
  parentPort.close()
})
`

export interface Checkpointer {
  /** Runs a last checkpoint and stops the worker. */
  stop(): Promise<void>
}

/** Moves `database`'s WAL checkpoints (file at `path`) to a worker thread. */
export function checkpointInBackground(database: SQLite.Database, path: string): Checkpointer {
  database.pragma('wal_autocheckpoint = 0')
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path, intervalMs: CHECKPOINT_INTERVAL_MS },
  })
  worker.unref()
  let stopping = false
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      // Without the worker the WAL would grow for ever: the serving connection checkpoints again.
      if (!stopping && database.open) database.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`)
      resolve()
    }),
  )
  worker.on('error', () => {}) // an 'exit' follows; the handler above takes over
  return {
    async stop() {
      stopping = true
      // Unreferenced, the worker would not keep the process alive while we wait for it to exit.
      worker.ref()
      worker.postMessage('stop')
      await exited
    },
  }
}
