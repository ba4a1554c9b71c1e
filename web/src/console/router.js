import { createRouter, createWebHashHistory } from "vue-router";
import { signedIn } from "@shared/api.js";

// Each page: its path, its title (the menu's text) and the roles that see it in the menu
// (the gateway decides what they may do; the menu only hides what would answer 403).
export const pages = [
  { path: "/", name: "home", title: "概览", component: () => import("./pages/Home.vue"), roles: null },
];

const routes = [
  { path: "/login", name: "login", component: () => import("./pages/Login.vue"), meta: { title: "登录", public: true } },
  ...pages.map((page) => ({ path: page.path, name: page.name, component: page.component, meta: { title: page.title, roles: page.roles } })),
];

const router = createRouter({ history: createWebHashHistory(), routes });

router.beforeEach((to) => {
  if (!to.meta.public && !signedIn()) return { name: "login", query: { next: to.fullPath } };
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 校友工作平台` : "校友工作平台";
});

export default router;
