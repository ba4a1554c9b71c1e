import { createRouter, createWebHashHistory } from "vue-router";
import { signedIn } from "@shared/api.js";

import { pages } from "./menu/index.js";

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
