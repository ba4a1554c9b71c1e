// Hash history: every page of the site is index.html, so the gateway needs no fallback
// route beside the API's paths. Every page is loaded when first opened (its own chunk).
import { createRouter, createWebHashHistory } from "vue-router";
import { signedIn } from "@shared/api.js";

const page = (name) => () => import(`./pages/${name}.vue`);
const signedInOnly = { signedIn: true };

const routes = [
  { path: "/", name: "home", component: page("Home"), meta: { title: "首页" } },
  { path: "/login", name: "login", component: page("Login"), meta: { title: "登录" } },
  { path: "/claim", name: "claim", component: page("Claim"), meta: { title: "校友认证" } },
  { path: "/stories", name: "stories", component: page("Stories"), meta: { title: "校友风采" } },
  { path: "/stories/:id", name: "story", component: page("Story"), meta: { title: "校友风采" } },
  { path: "/funds", name: "funds", component: page("Funds"), meta: { title: "捐赠" } },
  { path: "/honour-roll", name: "honour-roll", component: page("HonourRoll"), meta: { title: "捐赠芳名录" } },
  { path: "/give", name: "give", component: page("Give"), meta: { title: "我要捐赠", ...signedInOnly } },
  { path: "/give/:orderId", name: "payment", component: page("Payment"), meta: { title: "支付", ...signedInOnly } },
  { path: "/events", name: "events", component: page("Events"), meta: { title: "活动", ...signedInOnly } },
  { path: "/events/:id", name: "event", component: page("Event"), meta: { title: "活动详情", ...signedInOnly } },
  { path: "/me", name: "me", component: page("Me"), meta: { title: "我的", ...signedInOnly } },
  { path: "/me/profile", name: "profile", component: page("Profile"), meta: { title: "我的资料", ...signedInOnly } },
  { path: "/me/card", name: "card", component: page("Card"), meta: { title: "电子校友卡", ...signedInOnly } },
  { path: "/me/registrations", name: "registrations", component: page("Registrations"), meta: { title: "我的报名", ...signedInOnly } },
  { path: "/me/gifts", name: "gifts", component: page("Gifts"), meta: { title: "我的捐赠", ...signedInOnly } },
  { path: "/me/notifications", name: "notifications", component: page("Notifications"), meta: { title: "我的消息", ...signedInOnly } },
  { path: "/me/vouches", name: "vouches", component: page("Vouches"), meta: { title: "同学认证担保", ...signedInOnly } },
  { path: "/me/consent", name: "consent", component: page("Consent"), meta: { title: "消息订阅", ...signedInOnly } },
  { path: "/suggestions", name: "suggestions", component: page("Suggestions"), meta: { title: "意见建议", ...signedInOnly } },
  { path: "/service-requests", name: "service-requests", component: page("ServiceRequests"), meta: { title: "服务申请", ...signedInOnly } },
  { path: "/visits", name: "visits", component: page("Visits"), meta: { title: "返校预约", ...signedInOnly } },
  { path: "/chapters", name: "chapters", component: page("Chapters"), meta: { title: "身边的校友会", ...signedInOnly } },
  { path: "/directory", name: "directory", component: page("Directory"), meta: { title: "校友通讯录", ...signedInOnly } },
  { path: "/:rest(.*)*", name: "not-found", component: page("NotFound"), meta: { title: "页面不存在" } },
];

const router = createRouter({ history: createWebHashHistory(), routes, scrollBehavior: () => ({ top: 0 }) });

router.beforeEach((to) => {
  if (to.meta.signedIn && !signedIn()) return { name: "login", query: { next: to.fullPath } };
  return true;
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 校友之家` : "校友之家";
});

export default router;
