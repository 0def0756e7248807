// Dates and times in the time zone the visitor picked (the browser's by default), with the
// browser's own zone database: no library.

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** The IANA zones the browser knows, UTC first. */
export function zones() {
  let all = [];
  try {
    all = Intl.supportedValuesOf("timeZone");
  } catch {
    // An older browser: the picker offers UTC and the browser's zone.
  }
  return [...new Set(["UTC", browserZone(), ...all])];
}

/** How far `tz`'s wall clock is ahead of UTC at instant `ms`, in ms. */
function offsetMs(tz, ms) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms));
  const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
  return Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant `date` (`YYYY-MM-DD`) starts in `tz`, in Unix seconds. */
export function midnight(date, tz) {
  const [y, m, d] = date.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  // Twice: the offset at the first guess may differ from the offset at midnight (DST).
  const guess = wall - offsetMs(tz, wall);
  return Math.round((wall - offsetMs(tz, guess)) / 1000);
}

/** The date (`YYYY-MM-DD`) in `tz` at instant `ms`. */
export function dateIn(tz, ms = Date.now()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(ms));
}

/** `date` plus `n` days. */
export function addDays(date, n) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** An ISO instant as a readable local time in `tz`: `6 Dec 2026, 14:03:05`. */
export function fmtTime(iso, tz = browserZone()) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: tz, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).format(new Date(iso));
}

/** Whether `s` is a `YYYY-MM-DD` date. */
export const isDate = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s || "") && !Number.isNaN(Date.parse(s));
