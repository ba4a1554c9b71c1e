// One record of the API shown in a dialog: opened at once, filled when its answer comes,
// with the answer's error as a sentence.
import { ref } from "vue";
import { api, errorText } from "@shared/api.js";

export function useDetail(pathOf) {
  const detailOpen = ref(false);
  const detail = ref(null);
  const detailError = ref("");

  async function open(id) {
    detail.value = null;
    detailError.value = "";
    detailOpen.value = true;
    try {
      detail.value = await api("GET", pathOf(id));
    } catch (caught) {
      detailError.value = errorText(caught);
    }
  }

  return { detailOpen, detail, detailError, open };
}
