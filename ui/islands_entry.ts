/**
 * Browser entry point (what `deno bundle` bundles into static/build/app.js): mounts each island
 * into its `data-island` placeholder of the server-rendered shell, then loads the page's data
 * and opens the live connections.
 *
 * @module
 */
import { type ComponentType, h, render } from "preact";
import Banner from "../islands/Banner.tsx";
import EquityChart from "../islands/EquityChart.tsx";
import JobStatus from "../islands/JobStatus.tsx";
import MetricsTable from "../islands/MetricsTable.tsx";
import OptimizationScatter from "../islands/OptimizationScatter.tsx";
import ParamTable from "../islands/ParamTable.tsx";
import RunSettings from "../islands/RunSettings.tsx";
import ServerStats from "../islands/ServerStats.tsx";
import StrategyEditor from "../islands/StrategyEditor.tsx";
import TradesTable from "../islands/TradesTable.tsx";
import TrackerBoot from "./tracker_boot.ts";

const ISLANDS: Record<string, ComponentType> = {
  Banner,
  EquityChart,
  JobStatus,
  MetricsTable,
  OptimizationScatter,
  ParamTable,
  RunSettings,
  ServerStats,
  StrategyEditor,
  TradesTable,
};

for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const island = ISLANDS[el.dataset.island ?? ""];
  if (!island) {
    console.warn(`Unknown island ${el.dataset.island}`);
    continue;
  }
  el.textContent = ""; // the shell's placeholder goes; the island renders in its place
  render(h(island, null), el);
}
document.documentElement.dataset.ready = "true";
performance.mark("wagyu:islands-mounted");
TrackerBoot();
