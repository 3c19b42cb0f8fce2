import { statSync } from 'node:fs';
import type { Logger } from '../logging/logger.ts';

export interface FileBackedOptions<T> {
  /** Files the value is built from; null entries are unset settings. */
  readonly files: readonly (string | null)[];
  /** Builds the value from the files; throws when they do not make a valid one. */
  readonly load: () => T;
  /** What to log about a loaded value (its version, say). */
  readonly describe: (value: T) => Record<string, unknown>;
  readonly log: Logger;
  /** Longest a change on disk goes unnoticed. */
  readonly checkEveryMs?: number;
}

/** The last load that failed: the value in force is still the one before it. */
export interface LoadFailure {
  readonly at: number;
  readonly message: string;
}

/**
 * A value built from configuration files and kept in step with them: when a
 * file changes on disk (size or mtime), the next look, at most every
 * `checkEveryMs`, builds the value again. A file that fails to load is
 * reported and the last good value stays in force — a typo in a policy or a
 * contract never stops the pipeline. The first load must succeed.
 */
export class FileBacked<T> {
  readonly #options: FileBackedOptions<T>;
  readonly #checkEveryMs: number;
  #value: T;
  #stamp: string;
  #checkedAt = 0;
  #loadedAt: number;
  #lastFailure: LoadFailure | null = null;

  constructor(options: FileBackedOptions<T>) {
    this.#options = options;
    this.#checkEveryMs = options.checkEveryMs ?? 5_000;
    this.#stamp = this.#fileStamp();
    this.#value = options.load();
    this.#loadedAt = Date.now();
    options.log.info(options.describe(this.#value), 'loaded');
  }

  /** The value for the files as they are now (looked at no more often than checkEveryMs). */
  current(now = Date.now()): T {
    if (now - this.#checkedAt >= this.#checkEveryMs) this.refresh(now);
    return this.#value;
  }

  /** Looks at the files now and reloads if one changed. */
  refresh(now = Date.now()): T {
    this.#checkedAt = now;
    const stamp = this.#fileStamp();
    if (stamp === this.#stamp) return this.#value;
    this.#stamp = stamp;
    try {
      this.#value = this.#options.load();
      this.#loadedAt = now;
      this.#lastFailure = null;
      this.#options.log.info(this.#options.describe(this.#value), 'files changed; reloaded');
    } catch (err) {
      this.#lastFailure = { at: now, message: (err as Error).message };
      this.#options.log.error({ err }, 'files changed but do not load; the previous version stays in force');
    }
    return this.#value;
  }

  /** When the value in force was loaded (epoch ms). */
  get loadedAt(): number {
    return this.#loadedAt;
  }

  /** The failed load since the value in force was loaded, if any. */
  get lastFailure(): LoadFailure | null {
    return this.#lastFailure;
  }

  #fileStamp(): string {
    return this.#options.files
      .map((file) => {
        if (!file) return '-';
        try {
          const stat = statSync(file);
          return `${stat.mtimeMs}:${stat.size}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }
}
