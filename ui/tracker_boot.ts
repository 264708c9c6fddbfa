/**
 * Loads the page's initial data and opens the live connections, once the islands are mounted.
 *
 * @module
 */
import { connectJobs } from "./job_tracker.ts";
import { loadDatasets, loadTemplates, pollStats } from "./strategy_session.ts";

/** Starts the data loads, the job sockets and the stats poll. */
export default function trackerBoot(): void {
  void loadTemplates();
  void loadDatasets();
  void connectJobs();
  pollStats();
}
