/**
 * Raised when an optimization asks for a backend this process cannot run (e.g. `webgpu` where
 * no adapter exists). The API answers it as a clear 422 naming the backend and the reason
 * (`auto` never raises it: it falls back to the CPU).
 *
 * @module
 */

/** The requested optimizer backend is not available here; `message` says why. */
export class BackendUnavailableError extends Error {
  /** The backend that was asked for. */
  readonly backend: string;
  constructor(backend: string, reason: string) {
    super(
      `The ${backend} backend is not available here: ${reason}. Use backend "auto" or "workers"`,
    );
    this.name = "BackendUnavailableError";
    this.backend = backend;
  }
}
