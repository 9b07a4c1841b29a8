// deviation.js — a reading against its well's recent baseline, by the server's rule (webapp/fluctuations.py
// Deviation): "relative" thresholds are a fraction of the baseline, "absolute" ones are in the reading's own unit;
// a baseline of 0 is compared absolutely. The baseline and threshold come with the form (data-base, data-kind,
// data-threshold); tests/js/deviation.test.mjs holds both sides to the same cases.

/** The change of value against base: a fraction (relative) or a difference (absolute, or a baseline of 0). */
export function change(value, base, kind) {
  if (kind === "absolute" || base === 0) return value - base;
  return (value - base) / Math.abs(base);
}

/** True when the reading is past its threshold (the server questions and alerts on exactly these). */
export function beyond(value, base, kind, threshold) {
  if (base === null || base === undefined || !Number.isFinite(base) || !kind) return false;
  if (kind === "absolute") return Math.abs(value - base) >= threshold;
  if (base === 0) return value !== 0 && Math.abs(value) >= threshold;
  return Math.abs(value - base) / Math.abs(base) >= threshold;
}

/** The change as people read it: "-63%" or "+12.5 °C". */
export function describe(value, base, kind, unit) {
  const delta = change(value, base, kind);
  const sign = delta > 0 ? "+" : delta < 0 ? "-" : "";
  if (kind === "absolute" || base === 0) {
    return `${sign}${Number(Math.abs(delta).toFixed(2))}${unit ? ` ${unit}` : ""}`;
  }
  return `${sign}${Math.round(Math.abs(delta) * 100)}%`;
}
