/**
 * A shard-processing process: `deno run -A optimizer/kv_shard_worker.ts <kv-file> [name]`
 * opens the KV, processes optimization shards from its queue (optimizer/kv_shards.ts) and
 * logs one line per shard it computed: `computed <jobId> <shard> <start> <end>`. Runs until
 * killed. Server processes can call `listenForShards` instead. `--pause-ms N` waits N ms after
 * each shard (tests use it to stand in for heavy shards, so that work visibly spreads).
 *
 * @module
 */
import { loadBars } from "../market/load_bars.ts";
import type { Bars } from "../engine/types.ts";
import { listenForShards } from "./kv_shards.ts";

if (import.meta.main) {
  const pauseAt = Deno.args.indexOf("--pause-ms");
  const pauseMs = pauseAt >= 0 ? Number(Deno.args[pauseAt + 1]) : 0;
  const [path, name] = Deno.args.filter((_, i) =>
    pauseAt < 0 || (i !== pauseAt && i !== pauseAt + 1)
  );
  if (!path) {
    console.error("usage: kv_shard_worker.ts <kv-file> [processor-name]");
    Deno.exit(2);
  }
  const processor = name ?? `${Deno.hostname()}:${Deno.pid}`;
  const kv = await Deno.openKv(path);
  const cache = new Map<string, Promise<Bars>>();
  const load = (p: string) => {
    let b = cache.get(p);
    if (!b) {
      b = loadBars(p).then((r) => r.bars);
      cache.set(p, b);
    }
    return b;
  };
  console.log(`ready ${processor}`);
  await listenForShards(kv, {
    processor,
    loadBars: load,
    onComputed: async (m) => {
      console.log(`computed ${m.jobId} ${m.shard} ${m.start} ${m.end}`);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    },
  });
}
