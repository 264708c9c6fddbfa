/**
 * chart.js with only the pieces the page draws (tree-shaken: lines and scatters on linear and
 * log scales), in the dark theme's colours.
 *
 * @module
 */
import {
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
} from "chart.js";

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  ScatterController,
  Tooltip,
  Filler,
);
Chart.defaults.color = "#a6b0c3";
Chart.defaults.borderColor = "#263042";
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.animation = false;

export { Chart };
