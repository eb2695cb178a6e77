/**
 * WAL checkpoints off the event loop. SQLite checkpoints in whichever connection commits past
 * `wal_autocheckpoint` pages, and a checkpoint fsyncs the WAL and the database file: with
 * `synchronous = NORMAL` that was about half of a code exchange's SQLite time, on the thread that
 * serves every request. The serving connection turns automatic checkpoints off and a worker
 * thread with its own connection runs PASSIVE checkpoints (they never block the writer) instead.
 * Durability is unchanged: commits still append to the WAL exactly as before.
 *
 * A PASSIVE checkpoint alone never lets the WAL start over under steady load: SQLite rewinds it
 * only when a writer finds every frame copied, and commits keep arriving while a checkpoint runs
 * (the benchmark grew it past 1.5 GB in 20 s, and every commit then paid for the kernel zeroing
 * fresh file pages). So each PASSIVE checkpoint, which copies most frames without blocking anyone,
 * is followed by a RESTART one: it waits for the writer lock (up to `RESTART_WAIT_MS`), copies the
 * few frames committed meanwhile, and makes the next commit write the WAL from its start, over
 * pages the file already has. Writers wait for it (the store retries a busy group commit on a
 * timer, so the event loop does not): its fsync took 11 ms at the median and 45 ms at p90 under
 * the benchmark's load, so it runs only once the WAL holds `RESTART_AFTER_FRAMES` frames, not on
 * every turn. `journal_size_limit` trims a WAL that did grow large.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type SQLite from 'better-sqlite3'

/** How often the worker checkpoints; the WAL grows by about what is committed in this time. */
const CHECKPOINT_INTERVAL_MS = 250
/** How long a RESTART checkpoint waits for the writer lock before it gives up until the next turn. */
const RESTART_WAIT_MS = 100
/** WAL frames (pages) after which the WAL is made to start over: 16 MiB of 4 KiB pages. */
const RESTART_AFTER_FRAMES = 4096
/** Bytes a WAL is cut back to when it restarts (SQLite's journal_size_limit). */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024
/** SQLite's own default, restored on the serving connection if the worker cannot run. */
const DEFAULT_AUTOCHECKPOINT = 1000

// The worker is evaluated from this text (CommonJS, whatever flags the process was started with:
// `execArgv: []`), so it runs the same from src/ under the test
// runner as from dist/; it opens the file with the same better-sqlite3 the server loaded.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const SQLite = require(workerData.driver)
const database = new SQLite(workerData.path)
database.pragma('busy_timeout = ' + workerData.restartWaitMs)
const checkpoint = () => {
  try {
    const [{ log }] = database.pragma('wal_checkpoint(PASSIVE)')
    if (log >= workerData.restartAfterFrames) database.pragma('wal_checkpoint(RESTART)')
  } catch {}
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
  database.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`)
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path, intervalMs: CHECKPOINT_INTERVAL_MS, restartWaitMs: RESTART_WAIT_MS, restartAfterFrames: RESTART_AFTER_FRAMES },
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
