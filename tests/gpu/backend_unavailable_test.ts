import assert from "node:assert/strict";
import { WebGpuKernel } from "../../gpu/webgpu_backend.ts";
import { BackendUnavailableError } from "../../gpu/backend_unavailable_error.ts";
import { toApiError } from "../../routes/backtest_input.ts";

// Every machine here has a (software) WebGPU adapter, so "no adapter" is simulated by making
// requestAdapter() answer null, as it does on a platform without one (e.g. Deno Deploy).
Deno.test("WebGpuKernel.create() without an adapter raises BackendUnavailableError, a 422 for the API", async () => {
  const gpu = navigator.gpu as unknown as { requestAdapter: () => Promise<unknown> };
  const original = gpu.requestAdapter;
  gpu.requestAdapter = () => Promise.resolve(null);
  let err: unknown;
  try {
    await WebGpuKernel.create();
  } catch (e) {
    err = e;
  } finally {
    gpu.requestAdapter = original;
  }
  assert.ok(err instanceof BackendUnavailableError, String(err));
  assert.equal(err.backend, "webgpu");
  assert.match(err.message, /webgpu backend is not available here: .*no adapter/);
  const api = toApiError(err);
  assert.ok(api);
  assert.equal(api.status, 422);
  assert.equal(api.code, "backend_unavailable");
});
