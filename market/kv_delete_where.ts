/**
 * Batched deletion of Deno KV entries under a prefix, shared by the KV cache and blob stores.
 *
 * @module
 */

/** Mutations per atomic commit: well under Deno KV's limit of 1,000 per operation. */
const BATCH = 500;

/** Deletes the entries under `prefix` whose key `drop` selects, in atomic batches. */
export async function deleteWhere(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  drop: (key: Deno.KvKey) => boolean,
): Promise<void> {
  let op = kv.atomic(), pending = 0;
  for await (const e of kv.list({ prefix })) {
    if (!drop(e.key)) continue;
    op.delete(e.key);
    if (++pending === BATCH) {
      await op.commit();
      op = kv.atomic();
      pending = 0;
    }
  }
  if (pending > 0) await op.commit();
}
