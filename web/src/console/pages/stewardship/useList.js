// A cursor-paged list of the API with its loading state and readable error.
import { ref } from "vue";
import { api, errorText } from "@shared/api.js";

export function useList(path, query = () => ({})) {
  const items = ref([]);
  const cursor = ref(null);
  const loading = ref(false);
  const error = ref("");

  async function load(more = false) {
    loading.value = true;
    error.value = "";
    try {
      const page = await api("GET", typeof path === "function" ? path() : path, {
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

// Run one action of a page: its error shown, its success said, the list reloaded.
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

export function useMe() {
  const me = ref(null);
  api("GET", "/api/v1/me")
    .then((account) => {
      me.value = account;
    })
    .catch(() => {
      me.value = null;
    });
  return me;
}
