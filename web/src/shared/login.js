// The login form of both apps (each draws it with its own UI library): the fields, busy while
// the credentials go, the refusal as one sentence, and on success back to the page the user
// was sent from (`?next=`, set when a session ended or a page needed one).
import { ref } from "vue";
import { useRoute, useRouter } from "vue-router";
import { errorText, login } from "./api.js";

export function useLogin() {
  const route = useRoute();
  const router = useRouter();
  const username = ref("");
  const password = ref("");
  const error = ref("");
  const busy = ref(false);

  async function submit() {
    busy.value = true;
    error.value = "";
    try {
      await login(username.value, password.value);
      router.replace(typeof route.query.next === "string" ? route.query.next : "/");
    } catch (caught) {
      error.value = errorText(caught);
    } finally {
      busy.value = false;
    }
  }

  return { username, password, error, busy, submit };
}
