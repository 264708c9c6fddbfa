/**
 * Banner island: the last action error (server message and status), dismissible.
 *
 * @module
 */
import { banner } from "../ui/app_state.ts";

/** The error / info banner under the header. */
export default function Banner() {
  const b = banner.value;
  if (!b) return null;
  return (
    <div class={`banner ${b.kind}`} role="alert" id="banner">
      <span>{b.text}</span>
      <button type="button" class="btn small" onClick={() => (banner.value = null)}>
        Dismiss
      </button>
    </div>
  );
}
