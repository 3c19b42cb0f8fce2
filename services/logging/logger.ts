import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; components take `log.child({ component })`. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'spendline' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
