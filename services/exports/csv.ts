/**
 * CSV as RFC 4180 defines it: records end in CRLF; a field holding a comma, a
 * double quote, CR or LF is enclosed in double quotes, and a double quote
 * inside it is written twice. Every other field is written as it is. An
 * absent value (null) is an empty field.
 */

const NEEDS_QUOTES = /[",\r\n]/;

export type CsvValue = string | number | null;

export function csvField(value: CsvValue): string {
  if (value === null) return '';
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, its line ending included. */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
