// Alumni, events, receptions, plans, suggestions, money, newsletters, accounts.
const STAFF = ["office", "committee", "liaison"];
const MANAGERS = ["office", "liaison"];
const OFFICE = ["office"];

const page = (path, name, title, roles, component) => ({ path, name, title, roles, component });

export const operationsPages = [
  page("/alumni", "alumni", "校友查询", STAFF, () => import("../pages/operations/AlumniSearch.vue")),
  page("/events", "events", "活动", STAFF, () => import("../pages/operations/Events.vue")),
  page("/checkin", "checkin", "活动签到", MANAGERS, () => import("../pages/operations/EventCheckin.vue")),
  page("/activity-reports", "activity-reports", "活动通报", STAFF, () => import("../pages/operations/ActivityReports.vue")),
  page("/visits", "visits", "返校接待", STAFF, () => import("../pages/operations/Visits.vue")),
  page("/plans", "plans", "工作计划", STAFF, () => import("../pages/operations/Plans.vue")),
  page("/suggestions", "suggestions", "建议与服务需求", ["office", "committee"], () => import("../pages/operations/Suggestions.vue")),
  page("/funds", "funds", "教育基金", ["office", "committee"], () => import("../pages/operations/Funds.vue")),
  page("/gifts", "gifts", "捐赠", STAFF, () => import("../pages/operations/Gifts.vue")),
  page("/newsletters", "newsletters", "校友通讯", STAFF, () => import("../pages/operations/Newsletters.vue")),
  page("/access-log", "access-log", "个人信息访问记录", OFFICE, () => import("../pages/operations/AccessLog.vue")),
  page("/accounts", "accounts", "账号管理", OFFICE, () => import("../pages/operations/Accounts.vue")),
];
