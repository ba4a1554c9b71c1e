// The registry's administration: departments, alumni logins, erasure requests, alumni cards,
// statistics and exports, unconfirmed records, student volunteers, a messenger's classmates.
const OFFICE = ["office"];

const page = (path, name, title, roles, component) => ({ path, name, title, roles, component });

export const registryPages = [
  page("/departments", "departments", "院系管理", ["office", "committee", "liaison"], () => import("../pages/registry/Departments.vue")),
  page("/alumnus-accounts", "alumnus-accounts", "校友登录账号", OFFICE, () => import("../pages/registry/AlumnusAccount.vue")),
];
