// The alumni site (/): phone first, mostly opened inside WeChat's browser.
import { createApp } from "vue";
import { Button, Cell, CellGroup, Field, Form, NavBar, Tabbar, TabbarItem, Toast, Dialog, Empty, Loading, Tag, List, PullRefresh } from "vant";
import "vant/lib/index.css";
import "@shared/theme.css";
import App from "./App.vue";
import router from "./router.js";
import { onSessionExpired } from "@shared/api.js";

onSessionExpired(() => {
  const next = router.currentRoute.value.fullPath;
  router.replace({ name: "login", query: { next } });
});

createApp(App)
  .use(router)
  .use(Button).use(Cell).use(CellGroup).use(Field).use(Form).use(NavBar).use(Tabbar).use(TabbarItem)
  .use(Toast).use(Dialog).use(Empty).use(Loading).use(Tag).use(List).use(PullRefresh)
  .mount("#app");
