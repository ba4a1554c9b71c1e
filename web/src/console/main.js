// The staff console (/console/): the office, liaisons, the committee, chapter officers.
import { createApp } from "vue";
import ElementPlus from "element-plus";
import zhCn from "element-plus/es/locale/lang/zh-cn";
import "element-plus/dist/index.css";
import "@shared/theme.css";
import "./common/theme.css";
import App from "./App.vue";
import router from "./router.js";
import { onSessionExpired } from "@shared/api.js";

onSessionExpired(() => {
  const next = router.currentRoute.value.fullPath;
  router.replace({ name: "login", query: { next } });
});

createApp(App).use(ElementPlus, { locale: zhCn }).use(router).mount("#app");
