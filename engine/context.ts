/**
 * The strategy's `ctx`. Everything behind it (portfolio, broker, the full bar series) sits in
 * `#private` fields, so strategy code cannot reach engine internals or later bars through it.
 *
 * @module
 */
import type { Broker } from "./broker.ts";
import type { Clock } from "./data_view.ts";
import type { Portfolio } from "./portfolio.ts";
import type {
  OrderRequest,
  PositionView,
  SimpleOrderOptions,
  StrategyContext,
  TechnicalAnalysis,
} from "./types.ts";

/** What the context needs from the engine. */
export interface ContextHost {
  clock: Clock;
  portfolio: Portfolio;
  broker: Broker;
  /** The close column (read at the current bar only). */
  close: Float64Array;
  params: Readonly<Record<string, number | string | boolean>>;
  /** Returns `ctx.ta`, creating it on first use. */
  ta(): TechnicalAnalysis;
  log(line: string): void;
}

function format(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || v === undefined || v === null) {
    return String(v);
  }
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The `StrategyContext` the engine hands to `Initialize` and `OnData`. */
export class StrategyCtx implements StrategyContext {
  #h: ContextHost;
  #ta: TechnicalAnalysis | null = null;

  constructor(host: ContextHost) {
    this.#h = host;
  }

  get params(): Readonly<Record<string, number | string | boolean>> {
    return this.#h.params;
  }

  get cash(): number {
    return this.#h.portfolio.cash;
  }

  /** Cash plus the position at the current close. */
  get equity(): number {
    const h = this.#h;
    const t = h.clock.t;
    return t < 0 ? h.portfolio.cash : h.portfolio.equityAt(h.close[t]);
  }

  get position(): PositionView {
    const pf = this.#h.portfolio;
    const q = pf.position;
    return Object.freeze({
      quantity: q,
      side: q > 0 ? "long" : q < 0 ? "short" : "flat",
      avgPrice: pf.avgPrice,
    });
  }

  get barIndex(): number {
    return this.#h.clock.t;
  }

  #now(what: string): number {
    const t = this.#h.clock.t;
    if (t < 0) throw new Error(`ctx.${what}() cannot be called in Initialize: no bar yet`);
    return t;
  }

  buy(opts?: SimpleOrderOptions): string {
    const t = this.#now("buy");
    return this.#h.broker.submitRequest({ ...opts, side: "buy" }, t).id;
  }

  sell(opts?: SimpleOrderOptions): string {
    const t = this.#now("sell");
    return this.#h.broker.submitRequest({ ...opts, side: "sell" }, t).id;
  }

  close(): string | null {
    const t = this.#now("close");
    return this.#h.broker.submitClose(t)?.id ?? null;
  }

  order(req: OrderRequest): string {
    const t = this.#now("order");
    return this.#h.broker.submitRequest(req, t).id;
  }

  cancel(id: string): boolean {
    const t = this.#now("cancel");
    return this.#h.broker.cancel(String(id), t);
  }

  log(...args: unknown[]): void {
    this.#h.log(args.map(format).join(" "));
  }

  get ta(): TechnicalAnalysis {
    // Strategies read ctx.ta several times a bar: keep it once the host has made it.
    return this.#ta ??= this.#h.ta();
  }
}
