// One colour per mood, the same on every chart and chip: the Okabe–Ito palette, which stays
// distinguishable for the common kinds of colour blindness (grey for neutral). Labels always
// go with the colour, never colour alone.

import { h } from "./dom.js";

export const MOODS = ["frustrated", "confused", "decisive", "browsing", "disengaged", "focused", "neutral"];

export const COLOURS = {
  frustrated: "#D55E00",
  confused: "#E69F00",
  decisive: "#0072B2",
  browsing: "#56B4E9",
  disengaged: "#CC79A7",
  focused: "#009E73",
  neutral: "#8C8C8C",
};

export const DIMENSIONS = ["valence", "arousal", "tension", "affiliation"];
export const DIMENSION_COLOURS = { valence: "#0072B2", arousal: "#E69F00", tension: "#D55E00", affiliation: "#009E73" };

/** A mood's label with its colour swatch. */
export function chip(mood) {
  const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
  swatch.style.background = COLOURS[mood] || COLOURS.neutral;
  return h("span", { class: "chip", "data-mood": mood }, swatch, mood);
}

/** `show_live_chat` → `show live chat`. */
export const words = (id) => String(id).replaceAll("_", " ");
