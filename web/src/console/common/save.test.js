// saveDialog (save.js): Vitest, in Node, Element Plus's message played by the test.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ref } from "vue";
import { ApiError } from "@shared/api.js";
import { saveDialog } from "./save.js";

const said = vi.hoisted(() => []);
vi.mock("element-plus", () => ({ ElMessage: { success: (text) => said.push(text) } }));

describe("saveDialog", () => {
  let state;

  beforeEach(() => {
    said.length = 0;
    state = { dialog: ref(true), saving: ref(false), error: ref("an earlier error") };
  });

  it("is busy while the request goes, then closes the dialog and says the success", async () => {
    let busyWhileSending;
    const saved = await saveDialog(
      state,
      async () => {
        busyWhileSending = state.saving.value;
        return { title: "返校日" };
      },
      (answer) => `已保存活动“${answer.title}”`,
    );
    expect(saved).toBe(true);
    expect(busyWhileSending).toBe(true);
    expect(state.saving.value).toBe(false);
    expect(state.dialog.value).toBe(false);
    expect(state.error.value).toBe("");
    expect(said).toEqual(["已保存活动“返校日”"]);
  });

  it("keeps the dialog open with the failure as a sentence", async () => {
    const saved = await saveDialog(
      state,
      async () => {
        throw new ApiError(409, "CONFLICT", "名称已被使用。");
      },
      "已创建",
    );
    expect(saved).toBe(false);
    expect(state.dialog.value).toBe(true);
    expect(state.saving.value).toBe(false);
    expect(state.error.value).toBe("名称已被使用。");
    expect(said).toEqual([]);
  });
});
