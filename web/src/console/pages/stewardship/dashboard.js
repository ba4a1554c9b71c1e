// The dashboards' sums over the API's aggregates (pure: testable without a browser).

// Participation rows are per department × class year: sum them per department.
export function participationByDepartment(items) {
  return summed(items, (item) => item.department_id).map(([department_id, line]) => ({ department_id, ...line }));
}

// …and per class year, newest class first.
export function participationByClassYear(items) {
  return summed(items, (item) => item.class_year)
    .map(([class_year, line]) => ({ class_year, ...line }))
    .sort((a, b) => b.class_year - a.class_year);
}

function summed(items, keyOf) {
  const lines = new Map();
  for (const item of items || []) {
    const key = keyOf(item);
    const line = lines.get(key) || { alumni: 0, donors: 0 };
    line.alumni += item.alumni;
    line.donors += item.donors;
    lines.set(key, line);
  }
  return [...lines.entries()].map(([key, line]) => [key, { ...line, rate: line.alumni ? line.donors / line.alumni : 0 }]);
}

// People who attended the events each department organised: the activity reports'
// attendance, summed (one request per department that held events).
export async function attendanceByDepartment(departmentIds, reportsOf) {
  const totals = {};
  await Promise.all(
    departmentIds.map(async (id) => {
      const reports = await reportsOf(id);
      totals[id] = reports.reduce((sum, report) => sum + (report.attendance || 0), 0);
    }),
  );
  return totals;
}
