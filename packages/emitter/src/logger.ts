/**
 * The logging the package needs: structured fields first, then the message —
 * the shape of pino, bunyan and most structured loggers, so a pino logger can
 * be passed as it is. `child` is used when present (pino binds fields once);
 * otherwise the fields are merged into every line.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

/** A logger with `bindings` on every line. */
export function childLogger(log: Logger, bindings: Record<string, unknown>): Logger {
  if (log.child) return log.child(bindings);
  return {
    debug: (fields, message) => log.debug({ ...bindings, ...fields }, message),
    info: (fields, message) => log.info({ ...bindings, ...fields }, message),
    warn: (fields, message) => log.warn({ ...bindings, ...fields }, message),
    error: (fields, message) => log.error({ ...bindings, ...fields }, message),
  };
}

/** Discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The default when no logger is given: warnings and errors to stderr as one
 * JSON object per line (a library should not be silent about an outage, nor
 * chatty about routine).
 */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (fields, message) => writeLine('warn', fields, message),
  error: (fields, message) => writeLine('error', fields, message),
};

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  const err = fields['err'];
  const printable = err instanceof Error ? { ...fields, err: { type: err.name, message: err.message } } : fields;
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...printable })}\n`);
}
