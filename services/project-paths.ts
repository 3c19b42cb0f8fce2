import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { USAGE_EVENT_SCHEMA_DIR } from '@spendline/emitter/avro';

/** Where the project's own files live, independent of the working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The version in package.json. */
export const SPENDLINE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const SCHEMAS_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));
/** Every directory of Avro schemas: the usage event's (owned by @spendline/emitter, which writes it) and schemas/. */
export const SCHEMA_DIRS: readonly string[] = [USAGE_EVENT_SCHEMA_DIR, SCHEMAS_DIR];
export const SQL_DIR = fileURLToPath(new URL('../sql/', import.meta.url));
export const KAFKA_POM = fileURLToPath(new URL('../deploy/kafka/pom.xml', import.meta.url));
export const KAFKA_LIB_DIR = fileURLToPath(new URL('../deploy/kafka/lib/', import.meta.url));
/** The price catalog bundled with Spendline (see services/pricing/catalog/README.md). */
export const BUNDLED_PRICE_CATALOG = fileURLToPath(new URL('./pricing/catalog/genai-prices.catalog.json', import.meta.url));
/** The genai-prices data file the bundled catalog was imported from (MIT; kept to re-check the import). */
export const GENAI_PRICES_SOURCE = fileURLToPath(new URL('./pricing/catalog/source/genai-prices-data.json', import.meta.url));
