// Buttons that download an export as CSV or NDJSON, with a status line for errors.

import * as api from "./api.js";
import { h } from "./dom.js";

/** `label(format)` buttons for `path` with `params`, saved as `stem.csv` / `stem.ndjson`. */
export function exportButtons(path, params, stem, label) {
  const status = h("span", { class: "muted", role: "status" });
  const button = (format) => h("button", {
    type: "button", class: "quiet", id: `export-${format}`,
    onclick: async () => {
      status.textContent = "Preparing…";
      try {
        await api.download(path, { ...params, format }, `${stem}.${format}`);
        status.textContent = "";
      } catch (e) {
        status.textContent = e.message;
      }
    },
  }, label(format.toUpperCase()));
  return h("div", { class: "buttons" }, button("csv"), button("ndjson"), status);
}
