// The phone questions a reading by the same rule as the server (webapp/fluctuations.py Deviation.beyond): the cases
// of tests/deviation_cases.json, which tests/test_readings.py runs through the Python rule.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";

import { beyond, describe } from "../../webapp/static/js/deviation.js";

const cases = JSON.parse(readFileSync(new URL("../deviation_cases.json", import.meta.url), "utf8"));

test("every shared case is judged as the server judges it", () => {
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    assert.equal(beyond(c.value, c.base, c.kind, c.threshold), c.beyond, JSON.stringify(c));
  }
});

test("no baseline, no question", () => {
  assert.equal(beyond(12.5, null, "relative", 0.2), false);
  assert.equal(beyond(12.5, undefined, "relative", 0.2), false);
});

test("the change reads as a percentage or in the unit", () => {
  assert.equal(describe(12.5, 33.5, "relative", "t/d"), "-63%");
  assert.equal(describe(56, 51.5, "absolute", "°C"), "+4.5 °C");
  assert.equal(describe(2, 0, "relative", "MPa"), "+2 MPa");
});
