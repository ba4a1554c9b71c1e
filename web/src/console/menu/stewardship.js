// Imports, duplicates, review, the community (chapters, archive, messengers, stories) and
// the dashboards. Roles as the gateway's authorisation matrix allows each page's reads.
const STAFF = ["office", "committee", "liaison"];

export const stewardshipPages = [
  { path: "/dashboard", name: "dashboard", title: "数据看板", component: () => import("../pages/stewardship/Dashboard.vue"), roles: ["office", "committee"] },
  { path: "/imports", name: "imports", title: "批量导入", component: () => import("../pages/stewardship/Imports.vue"), roles: ["office", "liaison"] },
  { path: "/duplicates", name: "duplicates", title: "疑似重复与合并", component: () => import("../pages/stewardship/Duplicates.vue"), roles: ["office"] },
  { path: "/change-requests", name: "change-requests", title: "信息变更审核", component: () => import("../pages/stewardship/ChangeRequests.vue"), roles: ["office", "liaison"] },
  { path: "/chapters", name: "chapters", title: "校友会", component: () => import("../pages/stewardship/Chapters.vue"), roles: [...STAFF, "chapter_officer"] },
  { path: "/distinguished", name: "distinguished", title: "杰出校友档案", component: () => import("../pages/stewardship/Distinguished.vue"), roles: STAFF },
  { path: "/messengers", name: "messengers", title: "校友信使", component: () => import("../pages/stewardship/Messengers.vue"), roles: STAFF },
  { path: "/stories", name: "stories", title: "校友风采", component: () => import("../pages/stewardship/Stories.vue"), roles: STAFF },
  { path: "/alumni-news", name: "alumni-news", title: "校友动态", component: () => import("../pages/stewardship/AlumniNews.vue"), roles: STAFF },
];
