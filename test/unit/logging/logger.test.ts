import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/logging/logger.ts';
import { generateGatewayKey } from '../../../services/gateway/gateway-keys.ts';

describe('logger', () => {
  it('never writes a gateway key secret, wherever it appears in a line', () => {
    let written = '';
    const log = createLogger('info', new Writable({ write: (chunk, _encoding, done) => ((written += String(chunk)), done()) }));
    const { key, keyId } = generateGatewayKey();
    log.info({ url: `/v1/admin/gateway-keys/${key}`, err: new Error(`upstream said bad key ${key}`) }, `request with ${key}`);
    expect(written).not.toContain(key.slice(-20));
    expect(written).toContain(`slk_${keyId}_[redacted]`);
    // The message, the URL, the error message and its stack: every one redacted.
    expect(written.split(`slk_${keyId}_[redacted]`).length - 1).toBeGreaterThanOrEqual(4);
  });
});
