// Building the page from data without ever parsing data as HTML: every string becomes a text
// node or an attribute value, so a session id or a feedback note cannot inject markup.

/** `h("a", {href: "#/x", class: "c", onclick: f}, "text", child, [more])`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "style") throw new Error("inline styles are refused by the page's CSP");
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form control: `<label>text <control></label>`. */
export function field(text, control) {
  return h("label", { class: "field" }, h("span", {}, text), control);
}

/** A `<select>` of `[value, text]` options with `selected` chosen. */
export function select(attrs, options, selected) {
  return h("select", attrs, options.map(([value, text]) => h("option", { value, selected: value === selected }, text)));
}

/** A table: headers, then rows of cells (strings or nodes). */
export function table(caption, headers, rows, attrs = {}) {
  return h("div", { class: "table-wrap" },
    h("table", attrs,
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))))));
}

/** A message in the page's error style, announced to screen readers. */
export function alertBox(text) {
  return h("p", { class: "alert", role: "alert" }, text);
}

/** Numbers as people read them: 1,234 and 12.3 %. */
export const fmtInt = (n) => Number(n).toLocaleString("en-US");
export const fmtPct = (n) => `${Number(n).toFixed(1)} %`;
export const fmt2 = (n) => (n === null || n === undefined ? "—" : Number(n).toFixed(2));
