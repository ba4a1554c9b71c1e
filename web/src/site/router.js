// Hash history: every page of the site is index.html, so the gateway needs no fallback
// route beside the API's paths.
import { createRouter, createWebHashHistory } from "vue-router";
import { signedIn } from "@shared/api.js";

const routes = [
  { path: "/", name: "home", component: () => import("./pages/Home.vue"), meta: { title: "首页" } },
  { path: "/login", name: "login", component: () => import("./pages/Login.vue"), meta: { title: "登录", public: true } },
  { path: "/me", name: "me", component: () => import("./pages/Me.vue"), meta: { title: "我的", signedIn: true } },
];

const router = createRouter({ history: createWebHashHistory(), routes });

router.beforeEach((to) => {
  if (to.meta.signedIn && !signedIn()) return { name: "login", query: { next: to.fullPath } };
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 校友之家` : "校友之家";
});

export default router;
