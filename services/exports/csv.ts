/**
 * CSV as RFC 4180 defines it: records end in CRLF; a field holding a comma, a
 * double quote, CR or LF is enclosed in double quotes, and a double quote
 * inside it is written twice. Every other field is written as it is. An
 * absent value (null) is an empty field.
 */

const NEEDS_QUOTES = /[",\r\n]/;
/** Text a spreadsheet would run as a formula (=, +, -, @, tab, CR at the start). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A plain decimal number, which starts with '-' when negative and must stay a number. */
const PLAIN_NUMBER = /^-?\d+(?:\.\d+)?$/;

export type CsvValue = string | number | null;

/**
 * One field. Text that a spreadsheet would take for a formula (a tag value of
 * "=HYPERLINK(...)", say) gets a leading apostrophe, the spreadsheets' own
 * "this is text" mark, so opening an export never runs what a gateway sent;
 * numbers, negative ones included, are written as they are.
 */
export function csvField(value: CsvValue): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text) && !PLAIN_NUMBER.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, its line ending included. */
export function csvRecord(values: readonly CsvValue[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
