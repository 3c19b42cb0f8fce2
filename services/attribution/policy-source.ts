import { readFileSync } from 'node:fs';
import { FileBacked } from '../config/file-backed.ts';
import type { Logger } from '../logging/logger.ts';
import { AttributionPolicy } from './attribution-policy.ts';

/**
 * The attribution policy in force: the file named by SPENDLINE_ATTRIBUTION_POLICY,
 * reloaded when it changes (an invalid edit is logged, shown by the admin API,
 * and leaves the last good policy in force), or the built-in policy when unset.
 */
export class PolicySource extends FileBacked<AttributionPolicy> {
  readonly file: string | null;

  constructor(file: string | null, log: Logger, checkEveryMs = 5_000) {
    super({
      files: [file],
      load: () => (file ? AttributionPolicy.fromText(readFileSync(file, 'utf8')) : AttributionPolicy.builtIn),
      describe: (policy) => ({ attributionPolicy: policy.version, file }),
      log: log.child({ component: 'attribution' }),
      checkEveryMs,
    });
    this.file = file;
  }
}
