import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EncodedEvent } from '../encode-usage-event.ts';
import type { Logger } from '../logger.ts';
import { parseSpillLines, spillLine, type ParsedSpill } from './spill-format.ts';

/**
 * The emitter's overflow on disk: `<dir>/usage-events.spill.ndjson`, in the
 * format spill-format.ts describes.
 *
 * - Append-only while events arrive; read from a replay offset kept in
 *   memory; emptied (truncated to zero) only once everything it held was
 *   acknowledged by Kafka (`commit` reaching the end). close() rewrites a
 *   partly replayed file without its acknowledged head (copy, fsync, rename).
 *   A crash mid-replay resends the file from its start: duplicates, which
 *   event_id deduplication downstream absorbs, but never a loss.
 * - Durability: each append is one write(2) completed before emit() returns,
 *   so a crash of the process keeps it (the kernel holds it); `sync()` makes
 *   it survive a machine crash too, and the emitter calls it on a timer
 *   (spillSyncIntervalMs), at every flush and at close. Truncation is synced
 *   at once.
 * - One writer per directory: `<dir>/usage-events.spill.lock` holds the pid
 *   of the process using it, because a second process appending while the
 *   first truncates would lose events. A lock left by a dead process is taken over.
 * - Lines that hold no event (a write torn by a machine crash, damage on
 *   disk) are copied to `<dir>/usage-events.spill.corrupt` and logged, not sent.
 */

export const SPILL_FILE_NAME = 'usage-events.spill.ndjson';
const LOCK_FILE_NAME = 'usage-events.spill.lock';
const CORRUPT_FILE_NAME = 'usage-events.spill.corrupt';
/** First read size when replaying; doubled while a single line does not fit. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Spill directories held by this process, so a pid in a lock file can tell "another emitter here" from "my own earlier incarnation". */
const heldHere = new Set<string>();

export interface SpillRead extends Pick<ParsedSpill, 'events'> {
  /** File offset after the events returned: pass it to commit() once Kafka acknowledged them. */
  readonly end: number;
}

export class SpillFile {
  readonly path: string;
  readonly #dir: string;
  readonly #log: Logger;
  readonly #fd: number;
  #size: number;
  #readOffset = 0;
  /** Corrupt lines before this offset were already quarantined (a retried read must not copy them twice). */
  #quarantinedUpTo = 0;
  #dirty = false;
  #closed = false;

  private constructor(dir: string, fd: number, log: Logger) {
    this.#dir = dir;
    this.path = join(dir, SPILL_FILE_NAME);
    this.#fd = fd;
    this.#log = log;
    this.#size = fstatSync(fd).size;
  }

  /** Creates the directory if needed, takes its lock and opens (or creates) the spill file. Throws if another process uses it. */
  static open(dir: string, log: Logger): SpillFile {
    const absolute = resolve(dir);
    mkdirSync(absolute, { recursive: true });
    takeLock(absolute);
    let fd: number;
    try {
      fd = openSync(join(absolute, SPILL_FILE_NAME), 'a+');
    } catch (err) {
      releaseLock(absolute);
      throw err;
    }
    try {
      const file = new SpillFile(absolute, fd, log);
      file.#terminateTornTail();
      return file;
    } catch (err) {
      closeSync(fd);
      releaseLock(absolute);
      throw err;
    }
  }

  /** Bytes not yet replayed. */
  get pendingBytes(): number {
    return this.#size - this.#readOffset;
  }

  /** Appends events as one write. Throws on I/O errors (disk full): the caller decides what the events become. */
  append(events: readonly EncodedEvent[]): void {
    this.#assertOpen();
    if (events.length === 0) return;
    this.#write(Buffer.from(events.map(spillLine).join(''), 'utf8'));
  }

  /** Up to `maxEvents` events from the replay offset, oldest first; nothing moves until commit(). */
  read(maxEvents: number): SpillRead {
    this.#assertOpen();
    let chunkBytes = Math.min(READ_CHUNK_BYTES, this.pendingBytes);
    for (;;) {
      const chunk = Buffer.alloc(chunkBytes);
      const bytes = readSync(this.#fd, chunk, 0, chunkBytes, this.#readOffset);
      let parsed = parseSpillLines(chunk.subarray(0, bytes), maxEvents);
      if (parsed.consumed === 0 && chunkBytes < this.pendingBytes) {
        chunkBytes = Math.min(chunkBytes * 2, this.pendingBytes);
        continue;
      }
      if (parsed.consumed === 0 && bytes > 0) {
        // The rest has no newline. Every append ends in one and open() ends a torn tail, so
        // this needs outside interference; set it aside rather than wait for it forever.
        parsed = { events: [], corrupt: [{ offset: 0, text: chunk.toString('utf8', 0, bytes), reason: 'no line end' }], consumed: bytes };
      }
      this.#quarantine(parsed);
      return { events: parsed.events, end: this.#readOffset + parsed.consumed };
    }
  }

  /** Kafka acknowledged everything up to `end`: advance, and empty the file once all of it was sent. */
  commit(end: number): void {
    this.#assertOpen();
    this.#readOffset = Math.max(this.#readOffset, Math.min(end, this.#size));
    if (this.#readOffset < this.#size) return;
    ftruncateSync(this.#fd, 0);
    fdatasyncSync(this.#fd);
    this.#size = 0;
    this.#readOffset = 0;
    this.#quarantinedUpTo = 0;
    this.#dirty = false;
    this.#log.info({ spillFile: this.path }, 'spill file fully replayed and emptied');
  }

  /** Forces appended events to disk (fdatasync) if any were written since the last sync. */
  sync(): void {
    if (!this.#dirty || this.#closed) return;
    fdatasyncSync(this.#fd);
    this.#dirty = false;
  }

  /** Syncs, drops the already acknowledged head of a partly replayed file (so the next start does not resend it), and releases the lock. */
  close(): void {
    if (this.#closed) return;
    this.sync();
    this.#closed = true;
    try {
      if (this.#readOffset > 0) this.#dropReplayedHead();
    } finally {
      closeSync(this.#fd);
      releaseLock(this.#dir);
    }
  }

  /** Copies the unreplayed rest to a new file and renames it over the old one: a crash at any point leaves one whole file. */
  #dropReplayedHead(): void {
    const rest = `${this.path}.rest`;
    const out = openSync(rest, 'w');
    try {
      const chunk = Buffer.alloc(READ_CHUNK_BYTES);
      for (let position = this.#readOffset; position < this.#size; ) {
        const bytes = readSync(this.#fd, chunk, 0, Math.min(chunk.length, this.#size - position), position);
        let written = 0;
        while (written < bytes) written += writeSync(out, chunk, written, bytes - written);
        position += bytes;
      }
      fdatasyncSync(out);
    } finally {
      closeSync(out);
    }
    renameSync(rest, this.path);
    syncDirectory(this.#dir);
  }

  /** A closed descriptor's number may already belong to another file: never touch it. */
  #assertOpen(): void {
    if (this.#closed) throw new Error(`spill file ${this.path} is closed`);
  }

  #write(bytes: Buffer): void {
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written);
    } catch (err) {
      // Cut off a partial write (disk full midway) so the file keeps ending in a whole line.
      if (written > 0) ftruncateSync(this.#fd, this.#size);
      throw err;
    }
    this.#size += bytes.length;
    this.#dirty = true;
  }

  /** A file not ending in a newline was cut mid-write: end the fragment so it reads as one corrupt line and later lines stay intact. */
  #terminateTornTail(): void {
    if (this.#size === 0) return;
    const last = Buffer.alloc(1);
    readSync(this.#fd, last, 0, 1, this.#size - 1);
    if (last[0] === 0x0a) return;
    this.#log.warn({ spillFile: this.path }, 'spill file ends in a partial line (a write cut short); it will be set aside as corrupt');
    this.#write(Buffer.from('\n'));
    this.sync();
  }

  #quarantine(parsed: ParsedSpill): void {
    const fresh = parsed.corrupt.filter((line) => this.#readOffset + line.offset >= this.#quarantinedUpTo);
    this.#quarantinedUpTo = Math.max(this.#quarantinedUpTo, this.#readOffset + parsed.consumed);
    if (fresh.length === 0) return;
    const corruptFile = join(this.#dir, CORRUPT_FILE_NAME);
    writeFileSync(corruptFile, fresh.map((line) => `${line.text}\n`).join(''), { flag: 'a' });
    for (const line of fresh) {
      this.#log.error({ spillFile: this.path, offset: this.#readOffset + line.offset, reason: line.reason, corruptFile }, 'spill file line holds no event; copied aside, not sent');
    }
  }
}

function takeLock(dir: string): void {
  if (heldHere.has(dir)) throw new Error(`spill directory ${dir} is already used by another emitter in this process`);
  const lock = join(dir, LOCK_FILE_NAME);
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    // The same pid as ours, not held here: our own previous incarnation (a restarted container reuses pids).
    if (Number.isSafeInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new Error(`spill directory ${dir} is in use by process ${holder} (${lock}); give each emitter its own directory`);
    }
    writeFileSync(lock, String(process.pid));
  }
  heldHere.add(dir);
}

/** Makes a rename in `dir` durable. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function releaseLock(dir: string): void {
  heldHere.delete(dir);
  try {
    unlinkSync(join(dir, LOCK_FILE_NAME));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
