// The stewardship pages' pure logic:
//   npm test (Vitest, with the other front-end unit tests)
import assert from "node:assert/strict";
import { test } from "vitest";

import { attendanceByDepartment, participationByClassYear, participationByDepartment } from "./dashboard.js";
import { importRunning, percent, shortProvince } from "./labels.js";

test("provinces as the registry writes them land on the map's short names", () => {
  assert.equal(shortProvince("山东省"), "山东");
  assert.equal(shortProvince("北京市"), "北京");
  assert.equal(shortProvince("广西壮族自治区"), "广西");
  assert.equal(shortProvince("新疆维吾尔自治区"), "新疆");
  assert.equal(shortProvince("内蒙古自治区"), "内蒙古");
  assert.equal(shortProvince("香港特别行政区"), "香港");
  assert.equal(shortProvince("山东"), "山东");
});

test("an import polls until it is done, rejected or failed", () => {
  for (const status of ["queued", "parsing", "applying"]) assert.equal(importRunning({ status }), true);
  for (const status of ["done", "rejected", "failed"]) assert.equal(importRunning({ status }), false);
  assert.equal(importRunning(null), false);
});

test("participation is summed per department and per class year, newest class first", () => {
  const items = [
    { department_id: "a", class_year: 2000, alumni: 10, donors: 1 },
    { department_id: "a", class_year: 2001, alumni: 30, donors: 3 },
    { department_id: "b", class_year: 2001, alumni: 10, donors: 0 },
  ];
  assert.deepEqual(participationByDepartment(items), [
    { department_id: "a", alumni: 40, donors: 4, rate: 0.1 },
    { department_id: "b", alumni: 10, donors: 0, rate: 0 },
  ]);
  assert.deepEqual(
    participationByClassYear(items).map((line) => [line.class_year, line.alumni, line.donors]),
    [
      [2001, 40, 3],
      [2000, 10, 1],
    ],
  );
  assert.equal(percent(0.1234), "12.3%");
  assert.equal(percent(null), "");
});

test("attendance per department sums its activity reports", async () => {
  const reports = { a: [{ attendance: 30 }, { attendance: 12 }], b: [] };
  assert.deepEqual(await attendanceByDepartment(["a", "b"], async (id) => reports[id]), { a: 42, b: 0 });
});
