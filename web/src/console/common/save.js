// A dialog's form sent to the API, as every console page saves one: busy while it goes; then
// the dialog closed and the success said, or the failure left in the dialog as one sentence.
// True once saved, for what follows (a list reloaded, the form emptied).
import { ElMessage } from "element-plus";
import { errorText } from "@shared/api.js";

export async function saveDialog({ dialog, saving, error }, send, success) {
  error.value = "";
  saving.value = true;
  try {
    const answer = await send();
    dialog.value = false;
    ElMessage.success(typeof success === "function" ? success(answer) : success);
    return true;
  } catch (caught) {
    error.value = errorText(caught);
    return false;
  } finally {
    saving.value = false;
  }
}
