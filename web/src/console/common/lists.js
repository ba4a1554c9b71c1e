// The console's one way to read the API's cursor-paged lists (`{items, next_cursor}`), in the
// two shapes its pages show them: pages with 上一页/下一页 (`usePagedList`) and a list that
// grows with 加载更多 (`useList`); and every page of a small list for a select (`allItems`).
import { reactive, ref } from "vue";
import { api, errorText } from "@shared/api.js";

export const PAGE_SIZE = 20;

function resolved(path) {
  return typeof path === "function" ? path() : path;
}

// Pages by number: the cursors of the pages already seen are kept, so "上一页" goes back
// without the API knowing pages.
export function usePagedList(path, filters = () => ({})) {
  const state = reactive({ items: [], loading: false, error: "", page: 1, hasNext: false });
  let cursors = [null];

  async function fetchPage() {
    state.loading = true;
    state.error = "";
    try {
      const query = { ...filters(), limit: PAGE_SIZE, cursor: cursors[state.page - 1] || undefined };
      const answer = await api("GET", resolved(path), { query });
      state.items = answer.items || [];
      state.hasNext = Boolean(answer.next_cursor);
      cursors[state.page] = answer.next_cursor || null;
    } catch (caught) {
      state.items = [];
      state.hasNext = false;
      state.error = errorText(caught);
    } finally {
      state.loading = false;
    }
  }

  return {
    state,
    reload() {
      cursors = [null];
      state.page = 1;
      return fetchPage();
    },
    refresh: fetchPage,
    next() {
      if (!state.hasNext) return;
      state.page += 1;
      return fetchPage();
    },
    previous() {
      if (state.page <= 1) return;
      state.page -= 1;
      return fetchPage();
    },
  };
}

// A list that grows: `load()` reads it afresh, `load(true)` appends the next page.
export function useList(path, query = () => ({})) {
  const items = ref([]);
  const cursor = ref(null);
  const loading = ref(false);
  const error = ref("");

  async function load(more = false) {
    loading.value = true;
    error.value = "";
    try {
      const page = await api("GET", resolved(path), {
        query: { ...query(), cursor: more === true ? cursor.value : undefined },
      });
      items.value = more === true ? [...items.value, ...page.items] : page.items;
      cursor.value = page.next_cursor;
    } catch (failure) {
      error.value = errorText(failure);
    } finally {
      loading.value = false;
    }
  }

  return { items, cursor, loading, error, load };
}

// Run one action of a `useList` page: its error shown, its success said, the list reloaded.
export async function act(state, task, success) {
  state.error.value = "";
  try {
    await task();
    state.notice.value = success;
    await state.load();
    return true;
  } catch (failure) {
    state.error.value = errorText(failure);
    return false;
  }
}

// Every page of a small list (departments, funds, staff accounts) for a select.
export async function allItems(path, query = {}) {
  const items = [];
  let cursor;
  for (let round = 0; round < 50; round += 1) {
    const answer = await api("GET", path, { query: { ...query, limit: 100, cursor } });
    items.push(...(answer.items || []));
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items;
}
