// Two pages from one build: the alumni site at / (Vant, phone first) and the staff console
// at /console/ (Element Plus). The gateway serves web/dist (gateway/portal.py): hashed files
// under /assets/ are immutable, the HTML is never cached.
import { fileURLToPath, URL } from "node:url";
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
  plugins: [vue()],
  base: "/",
  resolve: {
    alias: { "@shared": fileURLToPath(new URL("./src/shared", import.meta.url)) },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The console carries Element Plus whole; the alumni site is split per page.
    chunkSizeWarningLimit: 1500,
    // The pages' CSP allows no inline script: Vite's module preload polyfill is inline.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        site: fileURLToPath(new URL("./index.html", import.meta.url)),
        console: fileURLToPath(new URL("./console/index.html", import.meta.url)),
      },
    },
  },
  server: {
    // `npm run dev` against a gateway started by `make run`.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
