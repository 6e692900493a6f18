// CSV written for people to open in a spreadsheet (the transfer and usage exports of the CLI and the
// dashboard): the rule that keeps a cell from running as a formula.

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return) as a formula; finance
 * opens these exports in one, so such text cells get a leading apostrophe (OWASP, "CSV Injection").
 */
export function spreadsheetSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
