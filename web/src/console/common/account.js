// The calling account (role, department), read again by each page that asks: another user
// may have logged in on this tab since.
import { ref } from "vue";
import { api } from "@shared/api.js";

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
