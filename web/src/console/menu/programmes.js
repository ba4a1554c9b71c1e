// The Alumni Lecture Hall's series, cooperation projects, and the notifications (templates,
// the delivery log with its statistics, an alumnus's preferences as the office records them).
const STAFF = ["office", "committee", "liaison"];
const OFFICE = ["office"];

const page = (path, name, title, roles, component) => ({ path, name, title, roles, component });

export const programmesPages = [
  page("/series", "series", "校友讲堂系列", STAFF, () => import("../pages/programmes/Series.vue")),
  page("/projects", "projects", "合作项目", STAFF, () => import("../pages/programmes/Projects.vue")),
  page("/notification-templates", "notification-templates", "通知模板", OFFICE, () => import("../pages/programmes/Templates.vue")),
  page("/notifications", "notifications", "通知发送记录", OFFICE, () => import("../pages/programmes/Notifications.vue")),
];
