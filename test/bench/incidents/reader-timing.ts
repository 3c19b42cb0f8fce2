import type { DetectionReader } from '../../../services/detection/detection-reader.ts';

/**
 * The reader the service gets, with the time of every call kept per method
 * (topValues, buckets, activity, ...): where a detector run spends its time.
 * The calls themselves go to the real reader unchanged.
 */
export function timedReader(reader: DetectionReader, timings: Map<string, number[]>): DetectionReader {
  return new Proxy(reader, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const name = String(property);
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          let samples = timings.get(name);
          if (!samples) timings.set(name, (samples = []));
          samples.push(performance.now() - started);
        }
      };
    },
  });
}
