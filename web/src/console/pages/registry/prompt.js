// A reason asked of the office before a refusal (shown to the alumnus): null when cancelled.
import { ElMessageBox } from "element-plus";

export async function askReason(message, title, confirm, required = true) {
  try {
    const { value } = await ElMessageBox.prompt(message, title, {
      confirmButtonText: confirm,
      cancelButtonText: "取消",
      inputValidator: (text) => !required || Boolean(text && text.trim()) || "请填写原因",
    });
    return (value || "").trim();
  } catch {
    return null;
  }
}
