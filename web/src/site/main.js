// The alumni site (/): phone first, mostly opened inside WeChat's browser. Vant components
// are registered one by one (the build keeps only these); every page is its own chunk.
import { createApp } from "vue";
import {
  Badge,
  Button,
  Cell,
  CellGroup,
  Empty,
  Field,
  Form,
  Grid,
  GridItem,
  Loading,
  Progress,
  Radio,
  RadioGroup,
  Switch,
  Tabbar,
  TabbarItem,
  Tag,
} from "vant";
// Each component's own style sheet (with those it builds on), not Vant's whole sheet.
import "vant/es/badge/style/index";
import "vant/es/button/style/index";
import "vant/es/cell/style/index";
import "vant/es/cell-group/style/index";
import "vant/es/empty/style/index";
import "vant/es/field/style/index";
import "vant/es/form/style/index";
import "vant/es/grid/style/index";
import "vant/es/grid-item/style/index";
import "vant/es/loading/style/index";
import "vant/es/progress/style/index";
import "vant/es/radio/style/index";
import "vant/es/radio-group/style/index";
import "vant/es/switch/style/index";
import "vant/es/tabbar/style/index";
import "vant/es/tabbar-item/style/index";
import "vant/es/tag/style/index";
import "@shared/theme.css";
import App from "./App.vue";
import router from "./router.js";
import { onSessionExpired } from "@shared/api.js";
import { clickOnEnterAndSpace } from "./keyboard.js";

onSessionExpired(() => {
  const next = router.currentRoute.value.fullPath;
  router.replace({ name: "login", query: { next } });
});

const app = createApp(App).use(router);
for (const component of [
  Badge, Button, Cell, CellGroup, Empty, Field, Form, Grid, GridItem, Loading, Progress, Radio,
  RadioGroup, Switch, Tabbar, TabbarItem, Tag,
]) {
  app.use(component);
}
clickOnEnterAndSpace();
app.mount("#app");
