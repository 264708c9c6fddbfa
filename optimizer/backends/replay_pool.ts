/**
 * A pool of permission-less workers that replay decided events (gpu/replay.ts) of a built-in
 * family in parallel, one core each, while the device decides the next batch. On a machine
 * with a real GPU the decisions are nearly free and the float64 replay is the bottleneck, so
 * spreading it over every core is what makes the GPU backends scale.
 *
 * @module
 */
import type { BacktestConfig, Bars } from "../../engine/types.ts";
import type { FamilyId } from "../../gpu/families.ts";
import type { ReplayResult } from "../../gpu/replay.ts";
import type { ParamSet } from "../grid.ts";
import type { PoolReply, PoolRequest } from "./pool_protocol.ts";
import { sharedColumns } from "./workers.ts";

/** Replays batches of one family's combinations on `size` workers. */
export class ReplayPool {
  #workers: { w: Worker; busy: number }[] = [];
  #waiting = new Map<
    number,
    { resolve: (r: ReplayResult[]) => void; reject: (e: Error) => void }
  >();
  #nextId = 1;
  #failed: Error | null = null;

  constructor(
    bars: Bars,
    opts: {
      size: number;
      family: { id: FamilyId; annualization: number };
      config?: Partial<BacktestConfig> & { slippageBps?: number };
    },
  ) {
    // Copied once into shared memory, not structured-cloned into every worker.
    const columns = sharedColumns(bars);
    for (let i = 0; i < opts.size; i++) {
      const w = new Worker(new URL("./engine_worker.ts", import.meta.url), {
        type: "module",
        deno: { permissions: "none" },
      });
      const slot = { w, busy: 0 };
      w.onerror = (e) => {
        e.preventDefault();
        this.#fail(new Error(`Replay worker failed: ${e.message}`));
      };
      w.onmessage = (e: MessageEvent<PoolReply>) => {
        const m = e.data;
        if (m.type === "error") return this.#fail(new Error(m.message));
        if (m.type !== "replayed") return;
        slot.busy--;
        const p = this.#waiting.get(m.id);
        this.#waiting.delete(m.id);
        p?.resolve(m.results);
      };
      const init: PoolRequest = {
        type: "init",
        moduleUrl: "",
        columns,
        config: opts.config ?? {},
        family: opts.family,
      };
      w.postMessage(init);
      this.#workers.push(slot);
    }
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    for (const p of this.#waiting.values()) p.reject(e);
    this.#waiting.clear();
  }

  /** Replays one batch on the least busy worker. */
  replay(params: ParamSet[], events: Uint32Array[]): Promise<ReplayResult[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const msg: PoolRequest = { type: "replay", id, params, events };
      slot.w.postMessage(msg);
    });
  }

  /** Terminates the workers. */
  close(): void {
    for (const s of this.#workers) s.w.terminate();
    this.#fail(new Error("Replay pool closed"));
  }
}
