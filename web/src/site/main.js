// The alumni site (/): phone first, mostly opened inside WeChat's browser. Vant components
// are registered one by one (the build keeps only these); every page is its own chunk.
import { createApp } from "vue";
import {
  Badge,
  Button,
  Cell,
  CellGroup,
  Dialog,
  Empty,
  Field,
  Form,
  Grid,
  GridItem,
  List,
  Loading,
  NavBar,
  Progress,
  PullRefresh,
  Radio,
  RadioGroup,
  Switch,
  Tabbar,
  TabbarItem,
  Tag,
  Toast,
} from "vant";
import "vant/lib/index.css";
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
  Badge, Button, Cell, CellGroup, Dialog, Empty, Field, Form, Grid, GridItem, List, Loading, NavBar,
  Progress, PullRefresh, Radio, RadioGroup, Switch, Tabbar, TabbarItem, Tag, Toast,
]) {
  app.use(component);
}
clickOnEnterAndSpace();
app.mount("#app");
