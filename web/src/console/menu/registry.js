// The registry's administration: departments, alumni logins, erasure requests, alumni cards,
// statistics and exports, unconfirmed records, student volunteers, a messenger's classmates.
const OFFICE = ["office"];

const page = (path, name, title, roles, component) => ({ path, name, title, roles, component });

export const registryPages = [
  page("/departments", "departments", "院系管理", ["office", "committee", "liaison"], () => import("../pages/registry/Departments.vue")),
  page("/alumnus-accounts", "alumnus-accounts", "校友登录账号", OFFICE, () => import("../pages/registry/AlumnusAccount.vue")),
  page("/erasure-requests", "erasure-requests", "个人信息删除申请", OFFICE, () => import("../pages/registry/ErasureRequests.vue")),
  page("/cards", "cards", "校友卡", OFFICE, () => import("../pages/registry/Cards.vue")),
  page("/statistics", "statistics", "校友统计与导出", ["office", "committee", "liaison"], () => import("../pages/registry/Statistics.vue")),
  page("/unconfirmed", "unconfirmed", "待核实档案", ["office", "liaison"], () => import("../pages/registry/Unconfirmed.vue")),
  page("/volunteers", "volunteers", "学生校友志愿者", ["office", "committee", "liaison"], () => import("../pages/registry/Volunteers.vue")),
  page("/classmates", "classmates", "信使的同班校友", ["office", "committee", "liaison", "messenger"], () => import("../pages/registry/Classmates.vue")),
];
