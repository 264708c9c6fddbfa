/**
 * The page's API client: the typed client of `client/mod.ts` (the one scripts and the server
 * tests use) bound to the page's own origin, so every REST call and WebSocket the page makes
 * is checked against the server's route types by `deno check`.
 *
 * @module
 */
import { createClient, type WagyuClient } from "../client/mod.ts";

let current: WagyuClient | null = null;

/** The client for the page's origin (created on first use). */
export function pageClient(): WagyuClient {
  current ??= createClient(globalThis.location.origin);
  return current;
}

/**
 * Points the page's actions at another server, e.g. a test server when the action modules run
 * under Deno (which has no `location`).
 */
export function setPageClient(client: WagyuClient): void {
  current = client;
}
