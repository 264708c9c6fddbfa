/**
 * Errors of exchange data requests, each with a code the CLI and the API can map.
 *
 * @module
 */

/** Why an exchange request failed. */
export type MarketDataErrorCode =
  | "unknown_exchange"
  | "unknown_symbol"
  | "unknown_timeframe"
  | "bad_request"
  | "offline"
  | "exchange";

/** An exchange data request failed; the message is one line meant for users. */
export class MarketDataError extends Error {
  /** Machine-readable reason. */
  readonly code: MarketDataErrorCode;
  constructor(code: MarketDataErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MarketDataError";
    this.code = code;
  }
}
