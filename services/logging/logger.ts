import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Anything shaped like a gateway key (`slk_<key id>_<secret>`) in a log line,
 * wherever it came from — a URL pasted with a key in it, an upstream's error
 * echoing a header — keeps its id and loses its secret.
 */
const GATEWAY_KEY = /slk_([A-Za-z0-9]{4,32})_[A-Za-z0-9_-]{16,}/g;
export const redactSecrets = (line: string): string => (line.includes('slk_') ? line.replace(GATEWAY_KEY, 'slk_$1_[redacted]') : line);

/** JSON logs on stdout; components take `log.child({ component })`. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'spendline' }, timestamp: pino.stdTimeFunctions.isoTime, hooks: { streamWrite: redactSecrets } }, destination);
}
