export const homePages = [
  { path: "/", name: "home", title: "概览", component: () => import("../pages/Home.vue"), roles: null },
];
