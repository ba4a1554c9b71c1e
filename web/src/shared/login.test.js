// useLogin (login.js): Vitest, in Node, the router and the API's login played by the test.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./api.js";
import { useLogin } from "./login.js";

const played = vi.hoisted(() => ({ query: {}, replaced: [], answer: null, sent: [] }));
vi.mock("vue-router", () => ({
  useRoute: () => ({ query: played.query }),
  useRouter: () => ({ replace: (to) => played.replaced.push(to) }),
}));
vi.mock("./api.js", async (original) => ({
  ...(await original()),
  login: async (username, password) => {
    played.sent.push([username, password]);
    return played.answer();
  },
}));

describe("useLogin", () => {
  beforeEach(() => {
    Object.assign(played, { query: {}, replaced: [], sent: [] });
  });

  it("logs in and goes back where the user was sent from", async () => {
    played.query = { next: "/me/gifts" };
    played.answer = async () => ({ access_token: "a" });
    const form = useLogin();
    form.username.value = "wang";
    form.password.value = "secret-1234";
    await form.submit();
    expect(played.sent).toEqual([["wang", "secret-1234"]]);
    expect(played.replaced).toEqual(["/me/gifts"]);
    expect(form.busy.value).toBe(false);
  });

  it("goes home when no page asked for the login", async () => {
    played.answer = async () => ({ access_token: "a" });
    await useLogin().submit();
    expect(played.replaced).toEqual(["/"]);
  });

  it("says a refusal as a sentence and stays", async () => {
    played.answer = async () => {
      throw new ApiError(401, "UNAUTHENTICATED", "用户名或密码错误。");
    };
    const form = useLogin();
    await form.submit();
    expect(form.error.value).toBe("用户名或密码错误。");
    expect(form.busy.value).toBe(false);
    expect(played.replaced).toEqual([]);
  });
});
