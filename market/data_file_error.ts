/**
 * The one error type every market-data reader throws for bad input.
 *
 * @module
 */

/**
 * A data file (or fetched data) could not be used. The message is one line that names the
 * file, the place in it and the problem, e.g. `GOOG.csv line 14: close is NaN`.
 *
 * `row` is the number shown in the message: a 1-based physical line for CSV (the header is
 * line 1), a 1-based record for JSON and Parquet, or -1 when the problem is not one row.
 */
export class DataFileError extends Error {
  /** The file name (or source label) at fault. */
  readonly file: string;
  /** The line/record number as shown in the message, -1 when not one row. */
  readonly row: number;
  constructor(file: string, row: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataFileError";
    this.file = file;
    this.row = row;
  }
}
